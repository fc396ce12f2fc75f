"""Shared fixtures. The end-to-end ones start the real servers on free ports."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "nouveau-depart.tar.gz"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
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


def _start_bot(tmp_path_factory, with_actions: bool = True, scaled_redis_db: int | None = None):
    """Rasa (and, unless told otherwise, the action server) on free ports; yields a Bot.

    `scaled_redis_db`: two Rasa workers sharing conversations through Redis (endpoints.scaled.yml).
    """
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    logs_dir = tmp_path_factory.mktemp("logs")
    rasa_port, actions_port = free_port(), free_port()
    state_dir = tmp_path_factory.mktemp("state")  # case database, keys and outbox of this run
    env = {**os.environ, "ND_ACTION_ENDPOINT": f"http://127.0.0.1:{actions_port}/webhook",
           "ND_STATE_DIR": str(state_dir),
           "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    endpoints = "endpoints.yml"
    if scaled_redis_db is not None:
        endpoints = "endpoints.scaled.yml"
        env.update({"SANIC_WORKERS": "2", "ND_REDIS_HOST": "127.0.0.1", "ND_REDIS_PORT": "6379",
                    "ND_REDIS_DB": str(scaled_redis_db), "ND_REDIS_LOCK_DB": str(scaled_redis_db + 1)})
    logs = {"actions": logs_dir / "actions.log", "rasa": logs_dir / "rasa.log"}
    procs = []
    try:
        if with_actions:
            with open(logs["actions"], "w") as out:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
        else:
            logs["actions"].write_text("")
        with open(logs["rasa"], "w") as out:
            procs.append(subprocess.Popen(
                [str(VENV_BIN / "rasa"), "run", "--model", str(MODEL), "--port", str(rasa_port),
                 "--credentials", "credentials.yml", "--endpoints", endpoints],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
        if with_actions:
            wait_http(f"http://127.0.0.1:{actions_port}/health", procs[0])
        wait_http(f"http://127.0.0.1:{rasa_port}/", procs[-1])
        bot = Bot(rasa_port, logs)
        bot.state_dir = state_dir
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


@pytest.fixture(autouse=True, scope="session")
def _state_outside_the_repo(tmp_path_factory):
    """Keys, case database and outbox made by in-process tests go to a temporary folder."""
    if "ND_STATE_DIR" not in os.environ:
        os.environ["ND_STATE_DIR"] = str(tmp_path_factory.mktemp("state-in-process"))
    yield
