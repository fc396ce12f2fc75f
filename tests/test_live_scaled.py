"""The web takeover with `make run-scaled`'s set-up: two Rasa workers sharing conversations through
Redis (databases 8 and 9, emptied before and after). The console's calls land on either worker, her
socket is held by one of them: pause, the référent's words and the hand-back must reach her anyway."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT, _start_bot, free_port, wait_http
from .console_support import add_operator, start_console, stop
from .test_live_web import WAIT_MINUTES, test_a_referent_joins_writes_reads_her_and_hands_back  # noqa: F401
from .test_widget_browser import browser  # noqa: F401

DBS = (8, 9)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    import redis

    for db in DBS:
        redis.StrictRedis(host="127.0.0.1", port=6379, db=db).flushdb()
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    for bot in _start_bot(
        tmp_path_factory,
        scaled_redis_db=DBS[0],
        extra_env={"ND_ALLOWED_ORIGINS": origin, "ND_LIVE_WAIT_MINUTES": WAIT_MINUTES, "ND_LIVE_POLL_SECONDS": "0.5"},
    ):
        rasa = bot.url.split("/webhooks")[0]
        env = {**os.environ, "ND_WEB_PORT": str(web_port), "ND_SOCKET_URL": rasa}
        with open(bot.logs["rasa"].parent / "web.log", "w") as out:
            web = subprocess.Popen(
                [sys.executable, "-m", "connectors.web"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        assert add_operator(bot.state_dir, "alice", "--supervisor").returncode == 0
        assert add_operator(bot.state_dir, "ines", "--supervisor").returncode == 0
        console = start_console(bot.state_dir, bot.logs["rasa"].parent / "console.log", env={"ND_LIVE_RASA_URL": rasa})
        try:
            wait_http(origin + "/", web, timeout=30)
            bot.web, bot.console = origin, console
            yield bot
        finally:
            stop(console)
            web.terminate()
            web.wait(timeout=10)
    for db in DBS:
        redis.StrictRedis(host="127.0.0.1", port=6379, db=db).flushdb()
