"""A fresh install: `python -m bot console --demo-admin` makes a demo supervisor once and prints its
password once; behind HTTPS (ND_CONSOLE_SECURE_COOKIES=1) cookies are Secure; logins are throttled
per client address as well as per account."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import ROOT
from .console_support import start_console, stop


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    state = tmp_path_factory.mktemp("fresh-state")
    log = tmp_path_factory.mktemp("fresh-log") / "console.log"
    running = start_console(state, log, "--demo-admin", env={"ND_CONSOLE_SECURE_COOKIES": "1"})
    yield running
    stop(running)


def demo_password(console) -> str:
    found = re.search(r"Identifiant « demo », mot de passe « ([^»]+) »", console.log.read_text())
    assert found, "the demo password is printed at start-up"
    return found.group(1)


def test_the_demo_supervisor_is_made_once_and_logs_in(fresh):
    password = demo_password(fresh)
    assert len(password) >= 12
    http, answer = fresh.login("demo", password)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    again = subprocess.run(
        [sys.executable, "-m", "bot", "demo-admin"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "ND_STATE_DIR": str(fresh.state)},
        timeout=60,
    )
    assert again.returncode == 0 and "existent déjà" in again.stdout and password not in again.stdout


def test_logins_are_throttled_per_address_too(fresh):
    # 20 failures from this address, each on a different login (so no account reaches its own limit)...
    codes = [fresh.login(f"inconnu{i}", "pas le bon mot de passe")[1].status_code for i in range(20)]
    assert set(codes) == {401}
    # ...then even the right password of a real account is refused from here, for a while.
    _, answer = fresh.login("demo", demo_password(fresh))
    assert answer.status_code == 429 and "Trop d&#39;essais manqués" in answer.text
    assert 0 < int(answer.headers["Retry-After"]) <= 900
