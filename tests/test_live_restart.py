"""A takeover survives a Rasa restart (issue 14), through Telegram and the local fake Bot API.

The stack of tests/test_live_telegram.py (Rasa + actions + console, one state folder). A référent
joins through the console; Rasa is stopped and started again on the same port, with the same
command line and environment (state folder, keys, tokens), while the console and the action server
keep running. Her next message still goes to the référent and the assistant stays silent; a danger
message gets the emergency answer and nothing else; the hand-back works and the assistant answers again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from bot.cases.crypto import load_keyring
from bot.cases.store import CaseStore
from bot.live.store import LiveStore

from .conftest import wait_http
from .test_live_telegram import fake, stack  # noqa: F401 - the running stack and fake Bot API
from .test_telegram_e2e import CHATS, DANGER, joined, say, telegram_env

CHAT = CHATS["poll"] + 3000


def _rasa_pid(port: int) -> int:
    """The `rasa run --port <port>` this test process started (conftest keeps no handle on it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"run" in args and str(port).encode() in args and b"--model" in args:
            return int(entry.name)
    raise LookupError(f"no Rasa child on port {port}")


def _stop(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        time.sleep(0.2)


def restart_rasa(stack) -> subprocess.Popen:  # noqa: F811
    """Stop Rasa, start it again with the same arguments and environment; the new process."""
    port = int(stack.rasa.rsplit(":", 1)[1])
    pid = _rasa_pid(port)
    args = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(e.decode().split("=", 1) for e in environ if b"=" in e)
    cwd = os.readlink(f"/proc/{pid}/cwd")
    _stop(pid)
    log = stack.logs["rasa"].parent / "rasa-restarted.log"
    for attempt in (1, 2):  # the lead's training may be replacing the model file right now
        with open(log, "a") as out:
            proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_http(stack.rasa + "/", proc)
            assert _rasa_pid(port) == proc.pid != pid  # really another process on that port
            return proc
        except Exception as exc:
            proc.kill()  # never left running behind the test
            proc.wait(timeout=30)
            if attempt == 2 or not isinstance(exc, RuntimeError):  # RuntimeError: it exited (model unreadable)
                raise
            time.sleep(30)
    raise AssertionError("unreachable")


def pushed(fake, before: int, contains: str, wait: float = 10.0) -> str:  # noqa: F811 - the fixture's name
    deadline = time.monotonic() + wait
    while True:
        sent = [c.params for c in fake.calls[before:] if c.method == "sendMessage" and c.params["chat_id"] == CHAT]
        if contains in joined(sent) or time.monotonic() > deadline:
            return joined(sent)
        time.sleep(0.1)


def test_a_takeover_survives_a_rasa_restart(stack, fake):  # noqa: F811
    assert "contactée" in joined(say(stack, fake, CHAT, "je voudrais parler à quelqu'un"))
    assert "Comment préférez-vous être contactée" in joined(say(stack, fake, CHAT, "oui"))
    assert "mot de code" in joined(say(stack, fake, CHAT, "ici maintenant"))
    say(stack, fake, CHAT, "non")
    say(stack, fake, CHAT, "non")
    done = joined(say(stack, fake, CHAT, "/confirmer_contact"))
    assert "vous êtes en attente d'un·e référent·e" in done
    reference = re.search(r"Votre référence : ([A-Z0-9]{8})", done).group(1)

    http, _ = stack.console.login("chef")
    page = f"{stack.console.base}/dossiers/{reference}"
    csrf = stack.console.csrf(http, f"/dossiers/{reference}")
    before = len(fake.calls)
    http.post(page + "/direct/rejoindre", data={"csrf": csrf, "nom": "Claire"}, allow_redirects=False)
    assert "Claire, référente, a rejoint la conversation" in pushed(fake, before, "Claire")
    assert say(stack, fake, CHAT, "je suis là") == []

    restarted = restart_rasa(stack)
    try:
        # Her next message still goes to the référent; the assistant says nothing.
        assert say(stack, fake, CHAT, "vous êtes toujours là ?") == []
        log = http.get(page + "/direct/messages", headers={"Accept": "application/json"}).json()
        assert log["etat"] == "rejoint" and "vous êtes toujours là ?" in [m["texte"] for m in log["messages"]]
        keys = {k: v for k, v in telegram_env(fake).items() if k in ("ND_CASE_KEYS", "ND_HMAC_KEY")}
        live = LiveStore(CaseStore(f"sqlite:///{stack.state_dir / 'cases.sqlite3'}", keyring=load_keyring(keys)))
        assert "vous êtes toujours là ?" in [m.text for m in live.messages(reference)]

        # Danger: the emergency answer at once, and nothing else.
        urgent = say(stack, fake, CHAT, DANGER)
        assert len(urgent) == 1, joined(urgent)
        assert "17" in urgent[0]["text"] and "114" in urgent[0]["text"]
        assert "La référente lit aussi ce message" in urgent[0]["text"]

        # The référent can still write to her, then hands back: the assistant answers again.
        before = len(fake.calls)
        sent = http.post(
            page + "/direct/envoyer",
            data={"csrf": csrf, "message": "Je suis toujours là."},
            headers={"Accept": "application/json"},
        )
        assert sent.status_code == 200
        assert "Claire : Je suis toujours là." in pushed(fake, before, "toujours là")
        before = len(fake.calls)
        back = http.post(page + "/direct/rendre", data={"csrf": csrf}, allow_redirects=False)
        assert back.status_code in (302, 303)
        assert "de nouveau avec l'assistant" in pushed(fake, before, "assistant")
        answer = joined(say(stack, fake, CHAT, "c'est quoi l'aide universelle d'urgence ?"))
        assert "universelle" in answer.lower() and "problème technique" not in answer, answer
    finally:
        restarted.terminate()
        try:
            restarted.wait(timeout=30)
        except subprocess.TimeoutExpired:
            restarted.kill()
