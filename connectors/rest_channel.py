"""The REST channel, hardened: never a silent answer, never her text in a log, 4xx on bad input.

Rasa's own RestInput logs the message text when handling fails, lets the
client choose its input channel, and answers an empty list when the action
server is down. This one keeps the same URL (/webhooks/rest/webhook).
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.answers import default_answers

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class SafeRestInput(InputChannel):
    """POST {"sender": "...", "message": "..."} -> the bot's messages, always at least one."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("safe_rest_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises on a body that is not JSON
                body = None
            if not isinstance(body, dict):
                return _error(400, "Requête invalide : un objet JSON est attendu.")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender.strip() or not isinstance(text, str):
                return _error(400, "Requête invalide : « sender » et « message » (texte) sont attendus.")
            if len(sender) > MAX_SENDER_CHARS or len(text) > MAX_MESSAGE_CHARS:
                return _error(413, f"Message trop long (au plus {MAX_MESSAGE_CHARS} caractères).")
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            except Exception as exc:  # the type only: her text must not reach the log
                logger.error("rest: message handling failed (%s)", type(exc).__name__)
            messages: list[Dict[str, Any]] = collector.messages
            if not messages:
                # An action failed (action server down, store down…): never leave her with silence.
                logger.warning("rest: no answer produced, technical fallback sent")
                messages = [{"recipient_id": sender, **default_answers().render("panne").as_rasa()}]
            return response.json(messages)

        return hook
