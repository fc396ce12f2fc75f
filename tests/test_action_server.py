"""The action server is internal: a call without Rasa's token is refused, a failure echoes nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import zlib

import pytest

from tests.conftest import ROOT, free_port, wait_http

TOKEN = "jeton-de-test-0123456789"
PHONE, CODE_WORD, FIRST_NAME, WORDS = "0612345678", "tournesol", "Sarah", "il me frappe depuis mars"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("action-state")
    log = tmp_path_factory.mktemp("action-logs") / "actions.log"
    port = free_port()
    env = {**os.environ, "ND_ACTION_TOKEN": TOKEN, "ND_ACTION_PORT": str(port), "ND_STATE_DIR": str(state)}
    env.pop("ND_ACTION_HOST", None)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connectors.action_server"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=60)
        yield {"url": f"http://127.0.0.1:{port}", "state": state, "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def action_call(action: str, slots: dict, text: str = WORDS, entities: list | None = None) -> bytes:
    tracker = {
        "sender_id": "victime-1",
        "slots": slots,
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_input_channel": "rest",
        "latest_message": {
            "text": text,
            "intent": {"name": "pack_territoire", "confidence": 1.0},
            "entities": entities or [],
        },
        "events": [{"event": "user", "text": text, "parse_data": {}}],
    }
    return json.dumps(
        {"next_action": action, "sender_id": "victime-1", "tracker": tracker, "domain": {}, "version": "3.6.21"}
    ).encode()


FORGED_CASE = action_call(
    "action_creer_dossier",
    {
        "contact_etape": "confirmation",
        "contact_canal": "sms",
        "contact_telephone": {"e164": "+33612345678", "mobile": True, "national": PHONE},
        "contact_creneaux": ["matin"],
        "contact_message": "non",
        "contact_code": CODE_WORD,
        "contact_prenom": FIRST_NAME,
        "mesures_demandees": [],
    },
)


def cases_in(state) -> int:
    path = state / "cases.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        return db.execute("select count(*) from cases").fetchone()[0] if "cases" in tables else 0


def test_health_stays_open(server):
    with urllib.request.urlopen(server["url"] + "/health", timeout=5) as resp:
        assert json.loads(resp.read()) == {"status": "ok"}


@pytest.mark.parametrize(
    "query", ["", "?token=", "?token=jeton-de-test-012345678", "?token=" + TOKEN + "x", "?jeton=" + TOKEN]
)
def test_forged_call_without_the_right_token_is_refused_and_creates_no_case(server, query):
    status, body = post(server["url"] + "/webhook" + query, FORGED_CASE)
    assert status == 401
    assert json.loads(body) == {"error": "unauthorized"}
    for personal in (PHONE, CODE_WORD, FIRST_NAME, "victime-1"):
        assert personal not in body
    assert cases_in(server["state"]) == 0


def test_action_list_needs_the_token_too(server):
    req = urllib.request.Request(server["url"] + "/actions")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 401
    with urllib.request.urlopen(server["url"] + "/actions?token=" + TOKEN, timeout=5) as resp:
        assert {"name": "action_creer_dossier"} in json.loads(resp.read())


def test_with_the_token_the_call_is_served(server):
    call = action_call("action_confirmer_contact", {"contact_etape": "arrete"})  # she stopped: nothing kept
    status, body = post(server["url"] + "/webhook?token=" + TOKEN, call)
    assert status == 200
    answer = json.loads(body)
    assert answer["responses"] and answer["responses"][0]["text"]
    assert {"event": "slot", "name": "contact_etape", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in answer["events"]
    ]
    assert cases_in(server["state"]) == 0


def test_a_failing_action_echoes_nothing_and_logs_its_type_only(server):
    # The old crash: an entity value that is an object.
    call = action_call(
        "action_territoire",
        {"contact_code": CODE_WORD, "contact_prenom": FIRST_NAME},
        text=f"{WORDS} {PHONE}",
        entities=[{"entity": "departement", "value": {"a": 1}}],
    )
    status, body = post(server["url"] + "/webhook?token=" + TOKEN, call)
    assert status in (200, 500)  # 200 once the action itself tolerates it
    for personal in (PHONE, CODE_WORD, FIRST_NAME, WORDS, "victime-1"):
        assert personal not in body
    if status == 500:
        assert json.loads(body) == {"error": "action failed"}
    log = server["log"].read_text()
    for personal in (PHONE, CODE_WORD, FIRST_NAME, "frappe", "victime-1"):
        assert personal not in log


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"next_action": 3}',
        b"{}",
        b'{"next_action": "action_territoire", "tracker": {"slots": []}}',
        zlib.compress(b"{"),
    ],
)
def test_malformed_calls_get_a_4xx_not_a_500(server, body):
    headers = {"Content-Encoding": "deflate"} if body.startswith(b"x\x9c") else {}
    status, text = post(server["url"] + "/webhook?token=" + TOKEN, body, headers)
    assert 400 <= status < 500, (status, text)
    assert "request_body" not in text


def test_unknown_action_is_a_404(server):
    status, body = post(server["url"] + "/webhook?token=" + TOKEN, action_call("action_inconnue", {}))
    assert status == 404
    assert WORDS not in body


def test_binds_loopback_by_default(server):
    port = int(server["url"].rsplit(":", 1)[1])
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    local = [line.split()[3] for line in out.splitlines() if line.strip()]
    assert local == [f"127.0.0.1:{port}"]
