"""Shared fixtures. The end-to-end ones start the real servers on free ports."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ND_TEST_MODEL: a model trained elsewhere (parallel work), else the one `make train` makes.
MODEL = Path(os.environ.get("ND_TEST_MODEL") or ROOT / "models" / "nouveau-depart.tar.gz")
VENV_BIN = Path(sys.executable).parent
# ND_TEST_CREDENTIALS: another channel list while a channel is being built (parallel work).
CREDENTIALS = os.environ.get("ND_TEST_CREDENTIALS") or "credentials.yml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(proc: subprocess.Popen) -> str:
    """The end of the process's log, so that a failed start says why (Rasa logs no message text)."""
    log = getattr(proc, "log_path", None)
    if not log or not Path(log).exists():
        return ""
    return "\n" + "\n".join(Path(log).read_text(errors="replace").splitlines()[-15:])


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered{_log_tail(proc)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


class Bot:
    """A running Rasa + action server pair, talked to through the REST channel."""

    def __init__(self, rasa_port: int, logs: dict[str, Path]):
        self.url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
        self.logs = logs

    def say(self, sender: str, message: str) -> list[dict]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def text(self, sender: str, message: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(sender, message))


def _start_bot(
    tmp_path_factory,
    with_actions: bool = True,
    scaled_redis_db: int | None = None,
    extra_env: dict | None = None,
    rasa_args: tuple = (),
):
    """Rasa (and, unless told otherwise, the action server) on free ports; yields a Bot.

    `scaled_redis_db`: two Rasa workers sharing conversations through Redis (endpoints.scaled.yml).
    """
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    logs_dir = tmp_path_factory.mktemp("logs")
    rasa_port, actions_port = free_port(), free_port()
    state_dir = tmp_path_factory.mktemp("state")  # case database, keys and outbox of this run
    action_token = secrets.token_urlsafe(24)  # what Rasa sends (endpoints.yml) and the launcher checks
    env = {
        **os.environ,
        "ND_ACTION_ENDPOINT": f"http://127.0.0.1:{actions_port}/webhook",
        "ND_ACTION_TOKEN": action_token,
        "ND_STATE_DIR": str(state_dir),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Every test talks from 127.0.0.1: the channels' rate limits are tested on their own.
        "ND_RATE_PER_CONVERSATION": "100000",
        "ND_RATE_PER_ADDRESS": "100000",
    }
    env.update(extra_env or {})
    endpoints = "endpoints.yml"
    if scaled_redis_db is not None:
        endpoints = "endpoints.scaled.yml"
        env.update(
            {
                "SANIC_WORKERS": "2",
                "ND_REDIS_HOST": "127.0.0.1",
                "ND_REDIS_PORT": "6379",
                "ND_REDIS_DB": str(scaled_redis_db),
                "ND_REDIS_LOCK_DB": str(scaled_redis_db + 1),
            }
        )
    logs = {"actions": logs_dir / "actions.log", "rasa": logs_dir / "rasa.log"}
    procs = []
    try:
        if with_actions:
            with open(logs["actions"], "w") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "connectors.action_server", "--port", str(actions_port)],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            procs[-1].log_path = logs["actions"]
        else:
            logs["actions"].write_text("")
        with open(logs["rasa"], "w") as out:
            procs.append(
                subprocess.Popen(
                    [
                        str(VENV_BIN / "rasa"),
                        "run",
                        "--model",
                        str(MODEL),
                        "--port",
                        str(rasa_port),
                        "--credentials",
                        CREDENTIALS,
                        "--endpoints",
                        endpoints,
                        *rasa_args,
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        procs[-1].log_path = logs["rasa"]
        if with_actions:
            wait_http(f"http://127.0.0.1:{actions_port}/health", procs[0])
        wait_http(f"http://127.0.0.1:{rasa_port}/", procs[-1])
        bot = Bot(rasa_port, logs)
        bot.state_dir = state_dir
        bot.action_url, bot.action_token = f"http://127.0.0.1:{actions_port}", action_token
        yield bot
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="session")
def bot(tmp_path_factory) -> Bot:
    yield from _start_bot(tmp_path_factory)


@pytest.fixture(scope="module")
def bot_without_actions(tmp_path_factory) -> Bot:
    """Rasa alone: the action server is down."""
    yield from _start_bot(tmp_path_factory, with_actions=False)


@pytest.fixture(scope="module")
def scaled_bot(tmp_path_factory) -> Bot:
    """Two Rasa workers and Redis (databases 12 and 13, emptied before and after)."""
    import redis

    for db in (12, 13):
        redis.StrictRedis(host="127.0.0.1", port=6379, db=db).flushdb()
    yield from _start_bot(tmp_path_factory, scaled_redis_db=12)
    for db in (12, 13):
        redis.StrictRedis(host="127.0.0.1", port=6379, db=db).flushdb()


class WebBot:
    """Rasa (socket.io channel, HTTP API behind a token for the tests' checks) + the widget's web server."""

    def __init__(self, bot: Bot, web_port: int, api_token: str, quick_exit_port: int):
        self.bot = bot
        self.rasa = bot.url.split("/webhooks")[0]
        self.web = f"http://127.0.0.1:{web_port}"
        self.api_token = api_token
        self.quick_exit = f"http://127.0.0.1:{quick_exit_port}/neutre.html"

    def tracker(self, conversation_id: str) -> dict:
        url = f"{self.rasa}/conversations/{conversation_id}/tracker?token={self.api_token}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="session")
def web_bot(tmp_path_factory):
    """The widget's stack: Rasa + actions, `python -m connectors.web`, a neutral quick-exit page."""
    import http.server
    import threading

    web_port, api_token = free_port(), secrets.token_urlsafe(16)
    neutral_dir = tmp_path_factory.mktemp("neutre")
    (neutral_dir / "neutre.html").write_text(
        '<!doctype html><meta charset="utf-8"><title>Météo</title><h1>Prévisions météo</h1>', encoding="utf-8"
    )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    def handler(*a, **k):
        return Quiet(*a, directory=str(neutral_dir), **k)

    neutral = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=neutral.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{web_port}"
    for bot in _start_bot(
        tmp_path_factory,
        extra_env={"ND_ALLOWED_ORIGINS": origin},
        rasa_args=("--enable-api", f"--auth-token={api_token}"),
    ):
        env = {
            **os.environ,
            "ND_WEB_PORT": str(web_port),
            "ND_SOCKET_URL": bot.url.split("/webhooks")[0],
            "ND_QUICK_EXIT_URL": f"http://127.0.0.1:{neutral.server_address[1]}/neutre.html",
        }
        with open(bot.logs["rasa"].parent / "web.log", "w") as out:
            web = subprocess.Popen(
                [sys.executable, "-m", "connectors.web"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_http(origin + "/", web, timeout=30)
            yield WebBot(bot, web_port, api_token, neutral.server_address[1])
        finally:
            web.terminate()
            web.wait(timeout=10)
            neutral.shutdown()


@pytest.fixture(autouse=True, scope="session")
def _state_outside_the_repo(tmp_path_factory):
    """Keys, case database and outbox made by in-process tests go to a temporary folder."""
    if "ND_STATE_DIR" not in os.environ:
        os.environ["ND_STATE_DIR"] = str(tmp_path_factory.mktemp("state-in-process"))
    yield
