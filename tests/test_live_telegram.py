"""Live takeover through Telegram: the really started Rasa + actions + console, the local fake Bot API
(tests/fake_telegram.py). She asks for a référent « ici, maintenant »; the operator joins through the
console (HTTP, as its page does), writes, she receives it; her answer reaches the console; the assistant
is silent; danger is answered at once; the operator hands back and the assistant answers again.
Her raw chat id is kept only sealed, with her case.
"""

from __future__ import annotations

import re
import time

import pytest

from bot.cases.crypto import load_keyring
from bot.cases.store import CaseStore
from bot.live.store import LiveStore

from .conftest import _start_bot
from .console_support import add_operator, start_console, stop
from .test_telegram_e2e import CHATS, DANGER, TOKEN, FakeTelegram, joined, message_update, post, telegram_env  # noqa: F401

CHAT = CHATS["poll"] + 1000


@pytest.fixture(scope="module")
def fake():
    server = FakeTelegram(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fake):
    env = telegram_env(fake)
    for bot in _start_bot(tmp_path_factory, extra_env={**env, "ND_LIVE_WAIT_MINUTES": "10"}):
        bot.rasa = bot.url.split("/webhooks")[0]
        assert add_operator(bot.state_dir, "chef", "--supervisor").returncode == 0
        keys = {k: env[k] for k in ("ND_CASE_KEYS", "ND_HMAC_KEY")}
        console = start_console(
            bot.state_dir, bot.logs["rasa"].parent / "console.log", env={"ND_LIVE_RASA_URL": bot.rasa, **keys}
        )
        bot.console = console
        try:
            yield bot
        finally:
            stop(console)


def say(stack, fake, text: str) -> str:
    before = len(fake.calls)
    status, _ = post(stack, message_update(fake, CHAT, text))
    assert status == 200
    return joined([c.params for c in fake.calls[before:] if c.method == "sendMessage" and c.params["chat_id"] == CHAT])


def pushed_since(fake, before: int, wait: float = 5.0, contains: str = "") -> str:
    deadline = time.monotonic() + wait
    while True:
        text = joined(
            [c.params for c in fake.calls[before:] if c.method == "sendMessage" and c.params["chat_id"] == CHAT]
        )
        if (contains in text and text) or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def test_a_referent_takes_over_a_telegram_conversation(stack, fake):
    assert "contactée" in say(stack, fake, "je voudrais parler à quelqu'un")
    assert "Comment préférez-vous être contactée" in say(stack, fake, "oui")
    assert "mot de code" in say(stack, fake, "ici maintenant")
    say(stack, fake, "tournesol")
    assert "Est-ce que je l'envoie" in say(stack, fake, "Sarah")
    done = say(stack, fake, "/confirmer_contact")
    assert "vous êtes en attente d'un·e référent·e" in done and "plus tard" in done
    reference = re.search(r"Votre référence : ([A-Z0-9]{8})", done).group(1)

    console = stack.console
    http, answer = console.login("chef")
    assert answer.status_code in (302, 303)
    queue = http.get(console.base + "/").text
    assert "en direct : attend depuis" in queue and reference in queue
    page = f"{console.base}/dossiers/{reference}"
    csrf = console.csrf(http, f"/dossiers/{reference}")
    before = len(fake.calls)
    joined_answer = http.post(page + "/direct/rejoindre", data={"csrf": csrf, "nom": "Claire"}, allow_redirects=False)
    assert joined_answer.status_code in (302, 303)
    assert "Claire, référente, a rejoint la conversation" in pushed_since(fake, before, contains="Claire")

    before = len(fake.calls)
    sent = http.post(
        page + "/direct/envoyer",
        data={"csrf": csrf, "message": "Bonjour, je suis Claire."},
        headers={"Accept": "application/json"},
    )
    assert sent.status_code == 200 and sent.json()["present"] is True
    assert "Claire : Bonjour, je suis Claire." in pushed_since(fake, before, contains="Bonjour")

    assert say(stack, fake, "merci, je suis au travail") == ""  # the assistant is silent
    log = http.get(page + "/direct/messages", headers={"Accept": "application/json"}).json()
    assert "merci, je suis au travail" in [m["texte"] for m in log["messages"]]

    urgent = say(stack, fake, DANGER)  # danger still answered at once
    assert "17" in urgent and "114" in urgent
    log = http.get(page + "/direct/messages", headers={"Accept": "application/json"}).json()
    assert any(m["danger"] and m["auteur"] == "elle" for m in log["messages"])

    before = len(fake.calls)
    back = http.post(page + "/direct/rendre", data={"csrf": csrf}, allow_redirects=False)
    assert back.status_code in (302, 303)
    assert "de nouveau avec l'assistant" in pushed_since(fake, before, contains="assistant")
    assert say(stack, fake, "c'est quoi l'aide universelle d'urgence ?") != ""

    # Only the holder may write: after the hand-back, nobody can.
    refused = http.post(
        page + "/direct/envoyer", data={"csrf": csrf, "message": "encore"}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 409
    # Her chat id: sealed, never in clear in the store or the logs.
    raw = (stack.state_dir / "cases.sqlite3").read_bytes()
    assert str(CHAT).encode() not in raw and b"au travail" not in raw
    assert str(CHAT) not in stack.logs["rasa"].read_text() and "au travail" not in stack.logs["rasa"].read_text()
    keys = {k: v for k, v in telegram_env(fake).items() if k in ("ND_CASE_KEYS", "ND_HMAC_KEY")}
    store = CaseStore(f"sqlite:///{stack.state_dir / 'cases.sqlite3'}", keyring=load_keyring(keys))
    assert LiveStore(store).get(reference).state == "fini"


def test_the_internal_endpoint_refuses_without_its_token_and_answers_bad_input_with_a_4xx(stack):
    import json
    import urllib.error
    import urllib.request

    from bot.live.client import PATH

    def call(body: bytes, token: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(stack.rasa + PATH + "say", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    token = (stack.state_dir / "keys" / "live.token").read_text().strip()
    body = json.dumps({"reference": "ABCD2345", "text": "usurpation"}).encode()
    assert call(body, None) == 403
    assert call(body, token[:-1] + "x") == 403
    assert call(b"{pas du json", token) == 400
    assert call(json.dumps(["liste"]).encode(), token) == 400
    assert call(body, token) == 404  # no live conversation with that reference


def test_effacer_during_a_takeover_ends_it_and_erases(stack, fake):
    global CHAT
    CHAT = CHATS["poll"] + 2000
    say(stack, fake, "je voudrais parler à quelqu'un")
    say(stack, fake, "oui")
    say(stack, fake, "ici maintenant")
    say(stack, fake, "non")
    say(stack, fake, "non")
    done = say(stack, fake, "/confirmer_contact")
    reference = re.search(r"Votre référence : ([A-Z0-9]{8})", done).group(1)
    http, _ = stack.console.login("chef")
    page = f"{stack.console.base}/dossiers/{reference}"
    csrf = stack.console.csrf(http, f"/dossiers/{reference}")
    http.post(page + "/direct/rejoindre", data={"csrf": csrf, "nom": "Claire"}, allow_redirects=False)
    assert say(stack, fake, "je suis là") == ""
    before = len(fake.calls)
    erased = say(stack, fake, "effacer")
    assert "effacée" in erased or "C'est fait" in erased
    assert fake.deleted_ids(CHAT)  # her phone's messages deleted too
    log = http.get(page + "/direct/messages", headers={"Accept": "application/json"}).json()
    assert log["etat"] == "fini" and log["tenue_par"] is None
    assert len(fake.calls) > before
