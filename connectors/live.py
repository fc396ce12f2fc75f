"""Live takeover, Rasa's side: pause, deliver, resume; her words to the console; danger first.

- The console (bot/console/live.py) calls POST /webhooks/socketio/live/{join,say,leave}
  (Bearer ND_LIVE_TOKEN, loopback clients only). join writes ConversationPaused into her
  tracker and tells her who joined; say pushes the référent's words on her channel
  (socket.io: `bot_uttered` to her session's room; Telegram: the Bot API); leave writes
  ConversationResumed and tells her she is back with the assistant.
- While a référent holds the conversation (store state `rejoint`), the channels hand her
  messages here before Rasa: they are sealed into the case (bot/live/store.py, a case event
  for the console's feed) and Rasa is not asked to answer. Danger still gets the emergency
  answer at once (bot.danger.detect, and the NLU parse with its SafetyClassifier) and the
  référent sees it flagged. « effacer » ends the takeover and goes on to the usual erase.
- A wait nobody answered in ND_LIVE_WAIT_MINUTES is told to her with the 3919, the 114 and
  the call-back plan (a loop in every Rasa worker; each expiry is claimed once in the store).
State lives in the case store and the tracker, never in process memory: a restart or a
second worker sees the same. No message text in logs.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from sanic import response
from sanic.request import Request

from bot import live as domain
from bot.danger import INTENT_FOR_KIND, detect
from bot.live.client import load_token

logger = logging.getLogger(__name__)
EMERGENCY_INTENTS = {intent: kind for kind, intent in INTENT_FOR_KIND.items()}
STORE_RETRY_SECONDS = 30.0
Reply = Callable[[List[Dict[str, Any]]], Awaitable[Any]]


def _poll_seconds() -> float:
    try:
        return max(0.2, float(os.environ.get("ND_LIVE_POLL_SECONDS") or 1))
    except ValueError:
        return 1.0


def _loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _case_channel(channel: str) -> str:
    return "telegram" if channel == "telegram" else "web"  # as actions/handoff.py names it


class LiveHub:
    """One per Rasa process: knows the channels that can push, and the stores."""

    def __init__(self) -> None:
        self.app: Any = None
        self.socketio: Any = None  # (sio, event name, namespace)
        self.telegram: Any = None  # connectors.telegram.TelegramInput
        self._live: Any = None
        self._loop_started = False
        self._down_until = 0.0

    # -- stores -------------------------------------------------------------------
    @property
    def live(self) -> Any:
        if self._live is None:
            from bot.cases.store import CaseStore
            from bot.live.store import LiveStore

            self._live = LiveStore(CaseStore())
        return self._live

    async def _db(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(func, *args, **kwargs)

    def _agent(self) -> Any:
        return getattr(getattr(self.app, "ctx", None), "agent", None)

    async def _set_paused(self, sender_id: str, paused: bool) -> bool:
        from rasa.shared.core.events import ConversationPaused, ConversationResumed

        agent = self._agent()
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return False
        try:
            async with agent.lock_store.lock(sender_id):
                tracker = await store.get_or_create_tracker(sender_id)
                if tracker.is_paused() != paused:
                    tracker.update(ConversationPaused() if paused else ConversationResumed())
                    await store.save(tracker)
            return True
        except Exception as exc:
            logger.error("live: tracker %s failed (%s)", "pause" if paused else "resume", type(exc).__name__)
            return False

    # -- delivery on her channel ---------------------------------------------------------
    async def deliver(self, session: Any, messages: List[Dict[str, Any]]) -> bool:
        if session.channel == "socketio" and self.socketio is not None:
            sio, event, ns = self.socketio
            for message in messages:
                await sio.emit(event, message, room=session.sender_id, namespace=ns)
            return self.present(session)
        if session.channel == "telegram" and self.telegram is not None:
            chat = await self._db(self.live.address, session.reference)
            if chat is None:
                return False
            await self.telegram.push(int(chat), session.sender_id, messages)
            return True
        return False

    def present(self, session: Any) -> bool:
        """Her page is connected to this process (socket.io only)."""
        if session.channel != "socketio" or self.socketio is None:
            return session.channel == "telegram"
        sio, _, ns = self.socketio
        try:
            return bool(sio.manager.rooms.get(ns or "/", {}).get(session.sender_id))
        except Exception:
            return False

    # -- her messages while a référent holds the conversation --------------------------------
    async def intercept(self, channel: str, sender_id: str, text: str, reply: Reply) -> bool:
        """True when the message was for the référent (Rasa must not answer it)."""
        if time.monotonic() < self._down_until:
            return False  # the store was down a moment ago: do not make every message wait for its timeout
        keyring = self.live.keyring
        conv = keyring.conversation_id(sender_id, _case_channel(channel))
        try:
            session = await self._db(self.live.active_for, conv)
        except Exception as exc:  # the store down: the assistant answers, danger included
            logger.warning("live: store unavailable (%s)", type(exc).__name__)
            self._down_until = time.monotonic() + STORE_RETRY_SECONDS
            return False
        if session is None or not session.held:
            return False
        ref = session.reference
        if domain.is_erase(text):
            await self._db(self.live.end, ref)
            await self._db(
                self.live.add_message,
                ref,
                domain.INFO,
                "Elle a effacé la conversation : la prise en main est terminée.",
            )
            await self._set_paused(sender_id, False)
            logger.info("live: takeover ended by her erase")
            return False  # the usual erase goes on
        await self._set_paused(sender_id, True)  # again, in case the tracker was lost meanwhile
        kind = await self._danger(text)
        await self._db(self.live.add_message, ref, domain.HER, text, danger=kind is not None)
        if kind is not None:
            answer = await self._emergency(kind, sender_id)
            await reply([answer])
            await self._db(self.live.add_message, ref, domain.ASSISTANT, answer.get("text", ""), danger=True)
            logger.info("live: danger during a takeover, emergency answer sent")
        return True

    async def _danger(self, text: str) -> Optional[str]:
        signal = detect(text)
        if signal is not None:
            return signal.kind
        agent = self._agent()
        try:
            parsed = await agent.parse_message(text) if agent is not None else {}
        except Exception as exc:
            logger.warning("live: parse failed (%s)", type(exc).__name__)
            parsed = {}
        return EMERGENCY_INTENTS.get(((parsed or {}).get("intent") or {}).get("name"))

    async def _emergency(self, kind: str, sender_id: str) -> Dict[str, Any]:
        """The domain's emergency answer for this kind (the one Rasa would give), or a fixed one."""
        agent = self._agent()
        try:
            intent = INTENT_FOR_KIND[kind]
            tracker = await agent.tracker_store.get_or_create_tracker(sender_id)
            found = await agent.nlg.generate(f"utter_{intent}", tracker, "socketio")
            if found and found.get("text"):
                return {"text": found["text"] + "\n(La référente lit aussi ce message.)"}
        except Exception as exc:
            logger.warning("live: emergency response unavailable (%s)", type(exc).__name__)
        return {"text": domain.EMERGENCY_TEXT}

    async def erased(self, channel: str, sender_id: str) -> None:
        """She erased through the channel's own erase (widget button, Telegram /effacer)."""
        conv = self.live.keyring.conversation_id(sender_id, _case_channel(channel))
        try:
            session = await self._db(self.live.active_for, conv)
            if session is not None and session.state in domain.ACTIVE:
                await self._db(self.live.end, session.reference)
                await self._db(
                    self.live.add_message,
                    session.reference,
                    domain.INFO,
                    "Elle a effacé la conversation : la prise en main est terminée.",
                )
        except Exception as exc:
            logger.warning("live: end on erase failed (%s)", type(exc).__name__)

    # -- the console's calls ------------------------------------------------------------------
    def authorised(self, request: Request) -> bool:
        if not _loopback(str(request.ip or "")):
            return False
        given = request.headers.get("authorization") or ""
        expected = "Bearer " + load_token()
        return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())

    async def operate(self, operation: str, body: Any) -> response.HTTPResponse:
        if not isinstance(body, dict) or not isinstance(body.get("reference"), str):
            return response.json({"error": "reference attendue"}, status=400)
        name = str(body.get("name") or "Votre référente")[:64]
        text = body.get("text") if isinstance(body.get("text"), str) else ""
        session = await self._db(self.live.get, body["reference"][:16])
        if session is None:
            return response.json({"error": "pas de conversation en direct"}, status=404)
        if operation == "join":
            if session.state != domain.JOINED:
                return response.json({"error": "non rejointe"}, status=409)
            await self._set_paused(session.sender_id, True)
            present = await self.deliver(session, [{"text": domain.joined_text(name)}])
        elif operation == "say":
            if session.state != domain.JOINED or not text.strip() or len(text) > domain.MAX_MESSAGE:
                return response.json({"error": "message refusé"}, status=409 if text.strip() else 400)
            present = await self.deliver(session, [{"text": domain.operator_line(name, text)}])
        elif operation == "leave":
            await self._set_paused(session.sender_id, False)
            present = await self.deliver(session, [{"text": domain.left_text(name)}])
        else:
            return response.json({"error": "opération inconnue"}, status=404)
        logger.info("live: %s (%s)", operation, "delivered" if present else "she is not connected here")
        return response.json({"ok": True, "present": present})

    # -- expiry ----------------------------------------------------------------------------------
    async def expire_loop(self) -> None:
        while True:
            await asyncio.sleep(_poll_seconds())
            try:
                expired = await self._db(self.live.expire_due)
            except Exception as exc:
                logger.warning("live: expiry check failed (%s)", type(exc).__name__)
                continue
            for session in expired:
                await self.deliver(session, [{"text": domain.expired_text(session.channel)}])
                await self._db(
                    self.live.add_message,
                    session.reference,
                    domain.INFO,
                    "Personne n'a rejoint à temps : le 3919, le 114 et le rappel lui ont été proposés.",
                )
                logger.info("live: a wait ran out, fallback sent")

    def install(self, blueprint: Any) -> None:
        """Routes and the expiry loop, on the socket.io channel's blueprint (always configured)."""

        @blueprint.route("/live/<operation>", methods=["POST"])
        async def live_operation(request: Request, operation: str) -> response.HTTPResponse:
            if not self.authorised(request):
                return response.json({"error": "Accès refusé."}, status=403)
            try:
                body = request.json
            except Exception:
                return response.json({"error": "JSON attendu"}, status=400)
            return await self.operate(operation, body)

        @blueprint.listener("after_server_start")
        async def start_loop(app: Any, loop: Any) -> None:
            self.app = app
            if not self._loop_started:
                self._loop_started = True
                app.add_task(self.expire_loop())


HUB = LiveHub()
