"""A local fake of the Telegram Bot API: Telegram's servers cannot be reached from here.

An aiohttp app in a thread of the test process, at http://127.0.0.1:<port>/bot<token>/<method>.
It records every call (method, decoded parameters, time) and answers like Telegram for
what the connector uses: sendMessage (a message_id per chat, counting up), answerCallbackQuery,
deleteMessage(s), setWebhook, deleteWebhook, setMyCommands, getMe, getUpdates (updates queued
by the test). `fail_next(method, retry_after=s)` makes the next call of `method` answer 429,
`refuse_next(method)` 400.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from aiohttp import web

# Parameters python-telegram-bot sends JSON-encoded (strings are sent as they are).
JSON_PARAMS = {
    "chat_id",
    "reply_markup",
    "message_ids",
    "message_id",
    "allowed_updates",
    "commands",
    "link_preview_options",
    "offset",
    "timeout",
    "limit",
    "max_connections",
    "show_alert",
    "drop_pending_updates",
}


@dataclass
class Call:
    method: str
    params: Dict[str, Any]
    at: float


@dataclass
class FakeTelegram:
    token: str
    calls: List[Call] = field(default_factory=list)
    updates: List[Dict[str, Any]] = field(default_factory=list)
    failures: Dict[str, List[int]] = field(default_factory=dict)
    next_id: Dict[int, int] = field(default_factory=dict)
    base: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._ready = threading.Event()
        self._update_id = 1000

    # -- test side ----------------------------------------------------------------
    def start(self) -> "FakeTelegram":
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake Telegram did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def fail_next(self, method: str, retry_after: int = 1) -> None:
        with self._lock:
            self.failures.setdefault(method, []).append(retry_after)

    def refuse_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer 400 (e.g. a message that can no longer be deleted)."""
        with self._lock:
            self.failures.setdefault(method, []).extend([0] * times)

    def of(self, method: str) -> List[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def queue_update(self, update: Dict[str, Any]) -> None:
        with self._lock:
            self.updates.append(update)

    def new_update_id(self) -> int:
        with self._lock:
            self._update_id += 1
            return self._update_id

    def sent_ids(self, chat_id: int) -> List[int]:
        """message_id of every message sendMessage created in this chat."""
        with self._lock:
            return [
                c.params["_message_id"]
                for c in self.calls
                if c.method == "sendMessage" and c.params.get("chat_id") == chat_id and "_message_id" in c.params
            ]

    def deleted_ids(self, chat_id: int) -> List[int]:
        with self._lock:
            ids: List[int] = []
            for c in self.calls:
                if c.params.get("chat_id") != chat_id:
                    continue
                if c.method == "deleteMessages":
                    ids += list(c.params.get("message_ids") or [])
                elif c.method == "deleteMessage":
                    ids.append(c.params.get("message_id"))
            return ids

    def take_message_id(self, chat_id: int) -> int:
        """An id for a message she sends (shares the chat's counter with the bot's messages)."""
        with self._lock:
            self.next_id[chat_id] = self.next_id.get(chat_id, 0) + 1
            return self.next_id[chat_id]

    # -- server side ----------------------------------------------------------------
    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}/bot"
        self._ready.set()
        self._loop.run_forever()

    @staticmethod
    def _decode(raw: Dict[str, str]) -> Dict[str, Any]:
        params: Dict[str, Any] = {}
        for key, value in raw.items():
            if key in JSON_PARAMS:
                try:
                    params[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (await request.json()).items()}
        else:
            raw = dict(await request.post())
        params = self._decode({k: str(v) for k, v in raw.items()})
        call = Call(method, params, time.monotonic())
        with self._lock:
            self.calls.append(call)
            pending = self.failures.get(method)
            retry_after = pending.pop(0) if pending else None
        if retry_after == 0:
            call.params["_answered"] = 400
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: message can't be deleted"}, status=400
            )
        if retry_after is not None:
            call.params["_answered"] = 429
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        if method == "getUpdates":
            return await self._get_updates(params)
        return web.json_response(self._answer(call))

    def _answer(self, call: Call) -> Dict[str, Any]:
        method, params = call.method, call.params
        if method == "sendMessage":
            text = params.get("text") or ""
            if len(text.encode("utf-16-le")) // 2 > 4096:
                call.params["_answered"] = 400
                return {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
            chat_id = params["chat_id"]
            message_id = self.take_message_id(chat_id)
            call.params["_message_id"] = message_id
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
                "from": {"id": 1, "is_bot": True, "first_name": "Nouveau départ"},
                "text": text,
            }
            if "reply_markup" in params:
                result["reply_markup"] = params["reply_markup"]
            return {"ok": True, "result": result}
        if method == "getMe":
            return {
                "ok": True,
                "result": {"id": 1, "is_bot": True, "first_name": "Nouveau départ", "username": "nouveau_depart_bot"},
            }
        if method == "deleteMessages" and len(params.get("message_ids") or []) > 100:
            return {"ok": False, "error_code": 400, "description": "Bad Request: too many messages"}
        if method in (
            "answerCallbackQuery",
            "deleteMessages",
            "deleteMessage",
            "setWebhook",
            "deleteWebhook",
            "setMyCommands",
        ):
            return {"ok": True, "result": True}
        return {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    async def _get_updates(self, params: Dict[str, Any]) -> web.Response:
        offset = params.get("offset")
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        while True:
            with self._lock:
                if offset is not None:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return web.json_response({"ok": True, "result": ready})
            await asyncio.sleep(0.05)
