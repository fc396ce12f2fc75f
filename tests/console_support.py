"""A really started console (subprocess) over a temporary state folder, and helpers to use it."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from bot.cases.crypto import conversation_id, load_keyring
from bot.cases.model import CaseDraft, ContactPlan
from bot.cases.store import CaseStore

from .conftest import ROOT, free_port, wait_http


class FromAddress(HTTPAdapter):
    """Connects from another loopback address (127.0.0.2, …): the console sees another client."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


PASSWORDS = {
    "alice": "alice-mot-de-passe-95",
    "chef": "chef-mot-de-passe-tous",
    "bob": "bob-mot-de-passe-13",
    "ines": "ines-mot-de-passe-95",
}


def add_operator(state: Path, login: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "operator", "add", login, *flags],
        input=PASSWORDS[login] + "\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "ND_STATE_DIR": str(state)},
        timeout=60,
    )


def store_for(state: Path) -> CaseStore:
    env = {"ND_STATE_DIR": str(state)}
    return CaseStore(f"sqlite:///{state / 'cases.sqlite3'}", keyring=load_keyring(env))


def new_case(store: CaseStore, territory: str, signals=(), eligibility: dict | None = None) -> str:
    plan = ContactPlan.validated(
        "sms",
        "06 12 34 56 78",
        time_windows=["Le matin (9h-12h)"],
        may_leave_message=False,
        code_word="Hirondelle",
        first_name="Solveig",
    )
    draft = CaseDraft(
        conversation_id(secrets.token_hex(8), "web", store.keyring),
        "web",
        plan,
        territory=territory,
        measures=["auu", "logement"],
        danger_signals=list(signals),
        eligibility=eligibility
        or {"answers": {"relation": "ex"}, "outcomes": {"auu": "a_verifier"}, "rules_version": "test"},
    )
    return store.create(draft).reference


class Console:
    def __init__(self, port: int, state: Path, proc: subprocess.Popen, log: Path):
        self.base = f"http://127.0.0.1:{port}"
        self.state, self.proc, self.log = state, proc, log

    def client(self, address: str | None = None) -> requests.Session:
        http = requests.Session()
        if address:
            http.mount("http://", FromAddress(address))
        return http

    def login(
        self, login: str, password: str | None = None, address: str | None = None
    ) -> tuple[requests.Session, requests.Response]:
        http = self.client(address)
        page = http.get(f"{self.base}/login")
        for cookie in http.cookies:  # a console told it is behind HTTPS (Secure cookies), tested over HTTP
            cookie.secure = False
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        answer = http.post(
            f"{self.base}/login",
            data={"login": login, "password": password or PASSWORDS[login], "csrf": token},
            allow_redirects=False,
        )
        for cookie in http.cookies:
            cookie.secure = False
        return http, answer

    def csrf(self, http: requests.Session, path: str = "/") -> str:
        page = http.get(f"{self.base}{path}")
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def start_console(state: Path, log: Path, *args: str, env: dict[str, str] | None = None):
    """`python -m bot console` on a free port over `state` (its SQLite database, keys)."""
    port = free_port()
    extra = env or {}
    env = {**os.environ, "ND_STATE_DIR": str(state), **extra}
    for name in ("DATABASE_URL", "ND_CASE_KEYS", "ND_HMAC_KEY", "ND_KEY_FILE"):
        if name not in extra:
            env.pop(name, None)  # the temporary state folder decides, never a developer's set-up
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/login", proc, timeout=60)
    except Exception:
        proc.kill()
        raise
    return Console(port, state, proc, log)


def stop(console: Console) -> None:
    console.proc.terminate()
    try:
        console.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        console.proc.kill()
