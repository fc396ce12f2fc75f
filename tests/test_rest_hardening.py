"""The REST channel against the really started Rasa: token, rate limits, payloads, CORS, no leak."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
import uuid

import pytest

from connectors import guard
from tests.conftest import _start_bot

REST_TOKEN = "jeton-rest-de-test-0123456789"
DANGER = "il va me tuer, il est devant la porte"
PHONE, CODE_WORD, FIRST_NAME = "0698765432", "coquelicot", "Mireille"
WORDS = "mon mari me frappe tous les soirs"


def new_sender() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def call(
    url: str,
    method: str = "POST",
    body: object = None,
    headers: dict | None = None,
    source: str | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict, object]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=30, source_address=(source, 0) if source else None
    )
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        text = resp.read().decode()
        try:
            payload: object = json.loads(text) if text else None
        except ValueError:
            payload = text
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
    finally:
        conn.close()


def texts(payload: object) -> str:
    return "\n".join(m.get("text") or "" for m in payload) if isinstance(payload, list) else ""


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """Rasa alone, with a REST token, small rate limits and Rasa's most open CORS (`--cors "*"`)."""
    yield from _start_bot(
        tmp_path_factory,
        with_actions=False,
        extra_env={"ND_REST_TOKEN": REST_TOKEN, "ND_RATE_PER_CONVERSATION": "3", "ND_RATE_PER_ADDRESS": "14"},
        rasa_args=("--cors", "*"),
    )


AUTH = {"Authorization": f"Bearer {REST_TOKEN}"}


# -- token ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer faux"},
        {"Authorization": REST_TOKEN},
        {"Authorization": f"Basic {REST_TOKEN}"},
        {"Authorization": f"Bearer {REST_TOKEN}x"},
    ],
)
def test_without_the_token_nobody_speaks_in_her_name(guarded, headers):
    status, hdrs, payload = call(
        guarded.url, body={"sender": new_sender(), "message": "annuler ma demande"}, headers=headers
    )
    assert status == 401
    assert "error" in payload and "www-authenticate" in hdrs


def test_with_the_token_she_gets_the_emergency_answer(guarded):
    status, _, payload = call(guarded.url, body={"sender": new_sender(), "message": DANGER}, headers=AUTH)
    assert status == 200
    assert "17" in texts(payload)


# -- rate limits ---------------------------------------------------------------------------------
def test_too_many_messages_in_one_conversation_get_a_calm_answer(guarded):
    sender = new_sender()
    statuses = [call(guarded.url, body={"sender": sender, "message": "bonjour"}, headers=AUTH) for _ in range(4)]
    assert [s for s, _, _ in statuses] == [200, 200, 200, 429]
    refused = statuses[-1][2]
    assert refused == [{"recipient_id": sender, "text": guard.TOO_FAST_TEXT}]
    # another conversation is not held up
    assert call(guarded.url, body={"sender": new_sender(), "message": DANGER}, headers=AUTH)[0] == 200


def test_too_many_messages_from_one_address_get_a_calm_answer_other_addresses_do_not(guarded):
    seen = []
    for _ in range(16):
        status, _, payload = call(guarded.url, body={"sender": new_sender(), "message": "bonjour"}, headers=AUTH)
        seen.append(status)
        if status == 429:
            assert texts(payload) == guard.TOO_FAST_TEXT
            break
    assert seen[-1] == 429 and len(seen) <= 15
    status, _, payload = call(
        guarded.url, body={"sender": new_sender(), "message": DANGER}, headers=AUTH, source="127.0.0.2"
    )
    assert status == 200 and "17" in texts(payload)


# -- CORS ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
def test_answers_never_advertise_credentials_to_another_origin(guarded, bot, method):
    headers = {
        "Origin": "https://site-tiers.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    for server in (guarded, bot):
        base = server.url.split("/webhooks/")[0]
        for path in ("/", "/webhooks/rest/webhook"):
            status, hdrs, _ = call(base + path, method=method, headers=headers)
            assert status < 500
            assert hdrs.get("access-control-allow-credentials") is None, (server.url, path, hdrs)


def test_rasa_cors_still_lets_the_allowed_origins_read_answers(guarded):
    # `--cors "*"` keeps working for a credential-less client: only the credentials flag goes.
    status, hdrs, _ = call(
        guarded.url.split("/webhooks/")[0] + "/", method="GET", headers={"Origin": "https://site-tiers.example"}
    )
    assert status == 200
    assert hdrs.get("access-control-allow-origin") in ("*", "https://site-tiers.example")


# -- payloads ------------------------------------------------------------------------------------
def test_a_typed_payload_is_plain_text_unless_offered(bot):
    sender = new_sender()
    # Typed at the start, /consentir_contact no longer opens the contact form without the offer.
    assert "Comment préférez-vous être contactée" not in bot.text(sender, "/consentir_contact")
    other = new_sender()
    offer = bot.say(other, "je voudrais parler à quelqu'un")
    assert "/consentir_contact" in [b["payload"] for m in offer for b in m.get("buttons", [])]
    assert "Comment préférez-vous être contactée" in bot.text(other, "/consentir_contact")


def test_a_forged_entity_is_not_a_technical_failure(bot):
    answer = bot.text(new_sender(), '/pack_territoire{"departement": {"a": 1}}')
    assert answer and "problème technique" not in answer


# -- her words never in the logs -----------------------------------------------------------------
def test_her_words_never_reach_the_logs_even_when_an_action_fails(bot):
    sender = new_sender()
    bot.text(sender, f"{WORDS}, appelez-moi au {PHONE}, mot de code {CODE_WORD}, je suis {FIRST_NAME}")
    bot.text(sender, '/pack_territoire{"departement": {"a": 1}}')
    bot.text(sender, f'/pack_territoire{{"departement": "{PHONE}"}}')
    # The old crash, posted to the action server with Rasa's token: a failure echoes nothing.
    tracker = {
        "sender_id": sender,
        "slots": {"contact_code": CODE_WORD, "contact_prenom": FIRST_NAME},
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_message": {
            "text": f"{WORDS} {PHONE}",
            "intent": {"name": "pack_territoire"},
            "entities": [{"entity": "departement", "value": {"a": 1}}],
        },
        "events": [{"event": "user", "text": f"{WORDS} {PHONE}"}],
    }
    status, _, payload = call(
        f"{bot.action_url}/webhook?token={bot.action_token}",
        body={"next_action": "action_territoire", "tracker": tracker, "domain": {}},
    )
    assert status in (200, 500)
    assert PHONE not in json.dumps(payload) and CODE_WORD not in json.dumps(payload)
    time.sleep(0.5)  # let both processes flush their log lines
    for name in ("rasa", "actions"):
        content = bot.logs[name].read_text(errors="replace")
        for personal in (PHONE, "06 98 76 54 32", "+33698765432", CODE_WORD, FIRST_NAME, "frappe", sender):
            assert personal not in content, (name, personal)


# -- a huge message does not hold up an emergency -------------------------------------------------
def test_a_300_kb_message_does_not_delay_an_emergency(bot):
    huge = "je " * 100_000
    results: list = []

    def flood() -> None:
        for _ in range(3):
            results.append(call(bot.url, body={"sender": new_sender(), "message": huge})[0])

    threads = [threading.Thread(target=flood) for _ in range(2)]
    for t in threads:
        t.start()
    start = time.monotonic()
    status, _, payload = call(bot.url, body={"sender": new_sender(), "message": DANGER})
    elapsed = time.monotonic() - start
    for t in threads:
        t.join()
    assert status == 200 and "17" in texts(payload)
    print(f"danger answer during the 300 kB flood: {elapsed * 1000:.0f} ms")
    assert elapsed < 3.0, elapsed
    assert results == [413] * 6


@pytest.mark.parametrize("raw", [b"{" * 300_000, b'{"sender": "x", "message": "' + b"a" * 5_000_000 + b'"}'])
def test_a_huge_body_is_refused_before_it_is_read_as_json(bot, raw):
    start = time.monotonic()
    status, _, payload = call(bot.url, raw=raw)
    assert status == 413 and "trop long" in payload["error"]
    assert time.monotonic() - start < 3


def test_a_message_at_the_cap_is_still_answered(bot):
    status, _, payload = call(bot.url, body={"sender": new_sender(), "message": "é" * 1990 + " bonjour"})
    assert status == 200 and texts(payload)


# -- random payloads: never a 5xx ----------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
MESSAGE = st.one_of(
    st.text(max_size=120),
    st.sampled_from(
        [
            "/",
            "//",
            "/urgence_suicide",
            '/pack_territoire{"departement": {"a": 1}}',
            "/consentir_contact",
            '/affirmer{"contact_telephone": "0612345678"}',
            "/confirmer_contact",
            "/effacer{",
            "{}",
            "\x00",
            "é" * 2001,
        ]
    ),
)
BODY = st.one_of(
    JSON,
    st.fixed_dictionaries({"sender": st.one_of(st.text(max_size=140), JSON), "message": st.one_of(MESSAGE, JSON)}),
    st.fixed_dictionaries({"sender": st.text(min_size=1, max_size=20), "message": MESSAGE}),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(BODY)
def test_random_rest_bodies_never_get_a_5xx(bot, body):
    status, _, payload = call(bot.url, body=body)
    assert status < 500, (status, payload)
    if status == 200:
        assert isinstance(payload, list) and payload  # never silence


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_random_rest_bytes_never_get_a_5xx(bot, raw):
    status, _, _ = call(bot.url, raw=raw)
    assert status < 500
