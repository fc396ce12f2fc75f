"""The console's side of a takeover: calls to the Rasa-side endpoint (connectors/live.py),
on loopback and behind a token. The console never imports Rasa or the bot: plain HTTP.

ND_LIVE_TOKEN, else <state dir>/keys/live.token (created 0600 on first use, shared by both
processes like the action token); ND_LIVE_RASA_URL, default http://127.0.0.1:5005.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from pathlib import Path

from bot.cases import config

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
PATH = "/webhooks/socketio/live/"


class LiveUnavailable(Exception):
    """Rasa did not take the call (down, refused): the console says so, nothing is pretended."""


def token_file() -> Path:
    return config.state_dir() / "keys" / "live.token"


def load_token(create: bool = True) -> str:
    explicit = (os.environ.get("ND_LIVE_TOKEN") or "").strip()
    if explicit:
        return explicit
    path = token_file()
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    if not create:
        return ""
    config.make_private_dir(path.parent)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def rasa_url() -> str:
    return (os.environ.get("ND_LIVE_RASA_URL") or DEFAULT_RASA_URL).rstrip("/")


def call(operation: str, reference: str, *, name: str = "", text: str = "", timeout: float = 10) -> dict:
    """POST one operation (join, say, leave) for a case; its JSON answer, or LiveUnavailable."""
    body = json.dumps({"reference": reference, "name": name, "text": text}).encode()
    request = urllib.request.Request(
        rasa_url() + PATH + operation,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {load_token()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise LiveUnavailable(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LiveUnavailable(type(exc).__name__) from None
