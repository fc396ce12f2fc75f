"""The REST channel, hardened: never a silent answer, never her text in a log, 4xx on bad input.

Rasa's own RestInput logs the message text when handling fails, lets the
client choose its input channel, and answers an empty list when the action
server is down. This one keeps the same URL (/webhooks/rest/webhook).

The client picks the sender id, so whoever can post here can speak in any
conversation's name: this channel is for trusted back-ends. With ND_REST_TOKEN
set, every call needs `Authorization: Bearer <token>` (401 otherwise); unset, it
is open, which is only for the local default (`make run`).

Also: messages over 2 000 characters are refused (413), the rate is limited per
conversation and per address (429, with a calm French answer as a bot message;
limits are per Rasa process), and « /… » is a payload only when the assistant
offered it as a button (connectors/guard.py).
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.answers import default_answers
from connectors import guard

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = guard.MAX_MESSAGE_CHARS
MAX_SENDER_CHARS = 128
# A body this large cannot hold a message within the cap (2 000 characters, even \u-escaped):
# refused before parsing, so a huge body never holds up the loop that answers emergencies.
MAX_BODY_BYTES = 64 * 1024


def _error(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=headers)


def _authorized(request: Request, token: str) -> bool:
    header = request.headers.get("Authorization") or ""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _address(request: Request) -> str:
    # remote_addr is set only when Sanic is told to trust a proxy (FORWARDED_SECRET / REAL_IP_HEADER).
    return request.remote_addr or request.ip or "?"


def no_credentials_for_other_origins(app: Any) -> None:
    """Rasa's CORS set-up (rasa.server.configure_cors) says supports_credentials for every
    origin it allows (with `--cors "*"`: any site's, its origin echoed back). Nothing here
    uses cookies or HTTP auth from a browser, so no answer advertises credentials."""
    app.config.CORS_SUPPORTS_CREDENTIALS = False
    cors = getattr(app.ctx, "sanic_cors", None)
    if cors is None:
        return
    for options in [getattr(cors, "options", None)] + [opts for _, opts in getattr(cors, "resources", [])]:
        if isinstance(options, dict):
            options["supports_credentials"] = False


class SafeRestInput(InputChannel):
    """POST {"sender": "...", "message": "..."} -> the bot's messages, always at least one."""

    def __init__(self, token: Optional[str] = None, clock: Any = None) -> None:
        self.token = token if token is not None else (os.environ.get("ND_REST_TOKEN") or "").strip()
        limiters = guard.default_limiters() if clock is None else guard.default_limiters(clock)
        self.per_conversation, self.per_address = limiters

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("safe_rest_webhook", __name__)

        @hook.listener("before_server_start")
        async def cors_without_credentials(app: Any, loop: Any) -> None:
            no_credentials_for_other_origins(app)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.token and not _authorized(request, self.token):
                return _error(401, "Authentification requise.", {"WWW-Authenticate": "Bearer"})
            # A back-end holding the token speaks for many people from one address:
            # raise ND_RATE_PER_ADDRESS for it (README).
            if not self.per_address.allow(_address(request)):
                logger.warning("rest: rate limit reached for an address")
                return response.json([{"recipient_id": "", "text": guard.TOO_FAST_TEXT}], status=429)
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, guard.TOO_LONG_TEXT)
            try:
                body = request.json
            except Exception:  # sanic raises on a body that is not JSON
                body = None
            if not isinstance(body, dict):
                return _error(400, "Requête invalide : un objet JSON est attendu.")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender.strip() or not isinstance(text, str):
                return _error(400, "Requête invalide : « sender » et « message » (texte) sont attendus.")
            if len(sender) > MAX_SENDER_CHARS:
                return _error(413, f"Identifiant trop long (au plus {MAX_SENDER_CHARS} caractères).")
            if len(text) > MAX_MESSAGE_CHARS:
                return _error(413, guard.TOO_LONG_TEXT)
            if not self.per_conversation.allow(sender):
                logger.warning("rest: rate limit reached for a conversation")
                return response.json([{"recipient_id": sender, "text": guard.TOO_FAST_TEXT}], status=429)
            text = await guard.filter_payload(text, sender, _tracker_store(request))
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            except Exception as exc:  # the type only: her text must not reach the log
                logger.error("rest: message handling failed (%s)", type(exc).__name__)
            messages: list[Dict[str, Any]] = collector.messages
            if not messages:
                # An action failed (action server down, store down…): never leave her with silence.
                logger.warning("rest: no answer produced, technical fallback sent")
                messages = [{"recipient_id": sender, **_panne()}]
            return response.json(messages)

        return hook


# Said if even the knowledge files cannot be read: the same numbers, never silence.
PANNE_TEXT = (
    "Je rencontre un problème technique et ne peux pas vous répondre pour l'instant. "
    "Vous pouvez appeler le 3919 (gratuit, anonyme). En danger : le 17, ou un SMS au 114."
)


def _panne() -> Dict[str, Any]:
    try:
        return default_answers().render("panne").as_rasa()
    except Exception as exc:
        logger.error("rest: fallback answer unavailable (%s)", type(exc).__name__)
        return {"text": PANNE_TEXT}


def _tracker_store(request: Request) -> Any:
    agent = getattr(request.app.ctx, "agent", None)
    return getattr(agent, "tracker_store", None)
