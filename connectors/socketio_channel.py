"""Rasa's socket.io channel, hardened like REST (the web widget talks to it).

What changes from rasa.core.channels.socketio.SocketIOInput:
- The session id is issued by the server and bound to one socket. A client's proposed
  id is taken only with the resume token the server issued with it (kept in page memory
  by the widget); otherwise she gets a new conversation. Messages always go to the
  conversation bound to the socket, whatever `session_id` they carry, so a second
  client that knows an id can neither join it nor receive its messages.
- Origins checked (ND_ALLOWED_ORIGINS); messages capped, rate-limited and « / »
  payloads filtered by connectors/guard.py; client metadata ignored.
- Never silence: a failed or empty turn gets the REST channel's technical fallback.
- « erase_request » erases the conversation on the server and starts a new one.
- No message text in logs.

Protocol kept for standard Rasa clients: `session_request` / `session_confirm` (the
session id as a string), `user_uttered` / `bot_uttered`. Extra events for the widget:
`session_token` {session_id, resume_token} just before `session_confirm`, and `erased`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.answers import default_answers
from connectors import guard
from connectors.live import HUB as LIVE

logger = logging.getLogger(__name__)

DEFAULT_ORIGINS = ("http://localhost:8000", "http://127.0.0.1:8000")
# Engine.IO refuses bigger packets outright; smaller ones over the cap get TOO_LONG_TEXT.
MAX_PACKET_BYTES = 512 * 1024
SESSION_ID_CHARS = 64
PANNE_TEXT = (
    "Désolée, un problème technique m'empêche de répondre. En cas de danger, appelez le 17 "
    "ou envoyez un SMS au 114. Le 3919 vous écoute, gratuitement, 24 h/24."
)
UNREADABLE_TEXT = "Je n'ai pas pu lire ce message. Pouvez-vous le renvoyer ?"


def allowed_origins(value: Optional[str] = None) -> List[str]:
    raw = os.environ.get("ND_ALLOWED_ORIGINS", "") if value is None else value
    origins = [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]
    return origins or list(DEFAULT_ORIGINS)


def fallback_message() -> Dict[str, Any]:
    """The REST channel's technical fallback, in socket.io's message shape."""
    try:
        rendered = default_answers().render("panne").as_rasa()
    except Exception as exc:  # the knowledge files themselves failing must not mean silence
        logger.error("socketio: fallback answer unavailable (%s)", type(exc).__name__)
        rendered = {"text": PANNE_TEXT}
    message: Dict[str, Any] = {"text": rendered.get("text", "")}
    if rendered.get("buttons"):
        message["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in rendered["buttons"]
        ]
    return message


@dataclass
class _Session:
    token_digest: bytes
    sid: Optional[str]
    last_seen: float


class SessionRegistry:
    """Server-issued conversation ids, each bound to at most one socket at a time.

    Only a digest of each resume token is kept; a resume hands out a new token.
    Sessions with no socket are forgotten after `ttl_seconds` (the tracker store's
    idle limit), so memory stays bounded.
    """

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._sessions: Dict[str, _Session] = {}
        self._by_sid: Dict[str, str] = {}

    @staticmethod
    def _digest(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "replace")).digest()

    def _new_token(self, session_id: str, sid: str) -> str:
        token = secrets.token_urlsafe(32)
        self._sessions[session_id] = _Session(self._digest(token), sid, self._clock())
        self._by_sid[sid] = session_id
        return token

    def open(self, sid: str, proposed_id: Any = None, token: Any = None) -> tuple[str, str, Optional[str]]:
        """(session id, new resume token, socket it was taken from) for this socket."""
        self.sweep()
        self.release(sid)
        previous_sid = None
        known = self._sessions.get(proposed_id) if isinstance(proposed_id, str) else None
        if (
            known is not None
            and isinstance(token, str)
            and hmac.compare_digest(known.token_digest, self._digest(token))
        ):
            session_id, previous_sid = proposed_id, known.sid
            if previous_sid is not None:
                self._by_sid.pop(previous_sid, None)
        else:
            session_id = uuid.uuid4().hex
        return session_id, self._new_token(session_id, sid), previous_sid

    def session_of(self, sid: str) -> Optional[str]:
        session_id = self._by_sid.get(sid)
        if session_id is not None:
            self._sessions[session_id].last_seen = self._clock()
        return session_id

    def release(self, sid: str) -> None:
        """The socket is gone: its session stays resumable until idle for too long."""
        session_id = self._by_sid.pop(sid, None)
        if session_id is not None and session_id in self._sessions:
            self._sessions[session_id].sid = None
            self._sessions[session_id].last_seen = self._clock()

    def forget(self, session_id: str) -> None:
        """Erased: the id can never be resumed."""
        session = self._sessions.pop(session_id, None)
        if session is not None and session.sid is not None:
            self._by_sid.pop(session.sid, None)

    def sweep(self) -> None:
        now = self._clock()
        idle = [k for k, s in self._sessions.items() if s.sid is None and now - s.last_seen > self.ttl_seconds]
        for session_id in idle:
            del self._sessions[session_id]

    def __len__(self) -> int:
        return len(self._sessions)


class _CountingOutput(SocketIOOutput):
    """Counts what reached her, so that an empty turn gets the fallback."""

    def __init__(self, sio: AsyncServer, bot_message_evt: Text) -> None:
        super().__init__(sio, bot_message_evt)
        self.sent = 0

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        # Rasa's version spreads the JSON into emit()'s arguments.
        await self._send_message(recipient_id, {"custom": json_message})


class _AppBlueprint(SocketBlueprint):
    """Keeps the Sanic app, to reach the agent's tracker and lock stores."""

    def __init__(self, channel: "SafeSocketIOInput", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.channel = channel

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        self.ctx.channel.app = app
        super().register(app, options)


def _shared_manager() -> Any:
    """Several Rasa workers (make run-scaled): rooms shared through Redis pub/sub, so that a référent's
    words pushed by one worker reach her socket held by another (connectors/live.py). One worker: None."""
    try:
        workers = int(os.environ.get("SANIC_WORKERS") or 1)
    except ValueError:
        workers = 1
    if workers < 2 or not os.environ.get("ND_REDIS_HOST"):
        return None
    from socketio import AsyncRedisManager

    url = f"redis://{os.environ['ND_REDIS_HOST']}:{os.environ.get('ND_REDIS_PORT') or 6379}/0"
    return AsyncRedisManager(url, channel="nd-socketio")


def _unwrap(store: Any) -> Any:
    """Rasa wraps the configured store in a FailSafeTrackerStore."""
    return getattr(store, "_tracker_store", store)


class SafeSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            True,
            credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(self, *args: Any, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_persistence = True
        self.app: Optional[Sanic] = None
        self.origins = allowed_origins()
        from connectors.tracker_store import ttl_seconds

        self.sessions = SessionRegistry(ttl_seconds(), clock)
        self.per_conversation, self.per_address = guard.default_limiters(clock)
        self._address: Dict[str, str] = {}

    # -- helpers ----------------------------------------------------------------
    def _agent(self) -> Any:
        return getattr(getattr(self.app, "ctx", None), "agent", None) if self.app is not None else None

    def _tracker_store(self) -> Any:
        agent = self._agent()
        return getattr(agent, "tracker_store", None)

    async def _erase(self, session_id: str) -> bool:
        agent = self._agent()
        store = _unwrap(getattr(agent, "tracker_store", None))
        erase = getattr(store, "erase", None)
        if erase is None:
            logger.error("socketio: the tracker store cannot erase (%s)", type(store).__name__)
            return False
        lock_store = getattr(agent, "lock_store", None)
        try:
            if lock_store is not None:
                async with lock_store.lock(session_id):  # not in the middle of a turn
                    erase(session_id)
            else:
                erase(session_id)
        except Exception as exc:
            logger.error("socketio: erase failed (%s)", type(exc).__name__)
            return False
        return True

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return None
        return _CountingOutput(self.sio, self.bot_message_evt)

    # -- the blueprint ------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.origins,
            max_http_buffer_size=MAX_PACKET_BYTES,
            cors_credentials=False,
            client_manager=_shared_manager(),
        )
        webhook = _AppBlueprint(self, sio, self.socketio_path, "safe_socketio_webhook", __name__)
        self.sio = sio
        ns = self.namespace
        bot_evt = self.bot_message_evt
        # Live takeover (connectors/live.py): pushes to her room, its internal routes and expiry loop.
        LIVE.socketio = (sio, bot_evt, ns)
        LIVE.install(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def say(sid_or_room: str, message: Dict[str, Any]) -> None:
            await sio.emit(bot_evt, message, room=sid_or_room, namespace=ns)

        async def confirm(sid: str, session_id: str, token: str) -> None:
            sio.enter_room(sid, session_id, namespace=ns)
            await sio.emit("session_token", {"session_id": session_id, "resume_token": token}, room=sid, namespace=ns)
            await sio.emit("session_confirm", session_id, room=sid, namespace=ns)

        @sio.on("connect", namespace=ns)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            request = environ.get("sanic.request")
            self._address[sid] = str(getattr(request, "ip", "") or environ.get("REMOTE_ADDR", ""))
            return True

        @sio.on("disconnect", namespace=ns)
        async def disconnect(sid: Text) -> None:
            self._address.pop(sid, None)
            self.sessions.release(sid)

        @sio.on("session_request", namespace=ns)
        async def session_request(sid: Text, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {}
            proposed, token = data.get("session_id"), data.get("resume_token")
            if isinstance(proposed, str) and len(proposed) > SESSION_ID_CHARS:
                proposed = None
            session_id, new_token, previous_sid = self.sessions.open(sid, proposed, token)
            if previous_sid is not None and previous_sid != sid:
                # Resumed from a new socket: the old one stops receiving her messages.
                sio.leave_room(previous_sid, session_id, namespace=ns)
            await confirm(sid, session_id, new_token)
            logger.debug("socketio: session %s", "resumed" if session_id == proposed else "issued")

        async def bound_session(sid: str) -> str:
            session_id = self.sessions.session_of(sid)
            if session_id is None:  # a client that skipped session_request gets its own conversation
                session_id, token, _ = self.sessions.open(sid)
                await confirm(sid, session_id, token)
            return session_id

        @sio.on(self.user_message_evt, namespace=ns)
        async def handle_message(sid: Text, data: Any = None) -> Dict[str, Any]:
            session_id = await bound_session(sid)
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str):
                await say(session_id, {"text": UNREADABLE_TEXT})
                return {"status": "refused"}
            if len(text) > guard.MAX_MESSAGE_CHARS:
                logger.info("socketio: message refused, too long (%d characters)", len(text))
                await say(session_id, {"text": guard.TOO_LONG_TEXT})
                return {"status": "refused"}
            if not (self.per_conversation.allow(session_id) and self.per_address.allow(self._address.get(sid, ""))):
                logger.info("socketio: message refused, rate limit")
                await say(session_id, {"text": guard.TOO_FAST_TEXT})
                return {"status": "refused"}
            output = _CountingOutput(sio, bot_evt)
            try:

                async def reply(messages: List[Dict[str, Any]]) -> None:
                    for message in messages:
                        await output._send_message(session_id, message)

                # A référent holds the conversation: her words go to the console, Rasa stays silent.
                if await LIVE.intercept(self.name(), session_id, text, reply):
                    return {"status": "ok"}
                text = await guard.filter_payload(text, session_id, self._tracker_store())
                await on_new_message(UserMessage(text, output, session_id, input_channel=self.name(), metadata={}))
            except Exception as exc:  # the type only: her text must not reach the log
                logger.error("socketio: message handling failed (%s)", type(exc).__name__)
            if not output.sent:
                logger.warning("socketio: no answer produced, technical fallback sent")
                await say(session_id, fallback_message())
            return {"status": "ok"}

        @sio.on("erase_request", namespace=ns)
        async def erase_request(sid: Text, data: Any = None) -> Dict[str, Any]:
            session_id = self.sessions.session_of(sid)
            erased = True
            if session_id is not None:
                await LIVE.erased(self.name(), session_id)  # a takeover ends with the conversation
                erased = await self._erase(session_id)
                sio.leave_room(sid, session_id, namespace=ns)
                self.sessions.forget(session_id)
                logger.info("socketio: conversation erased on request")
            await sio.emit("erased", {"ok": erased}, room=sid, namespace=ns)
            new_id, token, _ = self.sessions.open(sid)
            await confirm(sid, new_id, token)
            return {"status": "ok" if erased else "failed"}

        return webhook
