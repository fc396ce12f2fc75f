"""Telegram, with python-telegram-bot 22.x: authenticated, pseudonymous, erasable.

Rasa's own Telegram channel accepts forged updates, keeps the raw chat id and cannot
erase anything on her phone. This one:
- refuses (403) any update without `X-Telegram-Bot-Api-Secret-Token` = ND_TELEGRAM_SECRET;
- talks to Rasa under an HMAC of the chat id (bot/cases/crypto.py); the raw chat id
  stays in memory for the turn only: never stored, never logged;
- keeps, sealed with the case key ring and for 48 h only (what Telegram lets a bot
  delete), the ids of the messages of both sides, so that /effacer deletes them on
  her phone as well as the conversation on the server, and says what it could not.

Enabled when ND_TELEGRAM_TOKEN is set; otherwise the webhook answers 404 and Rasa starts
as usual. ND_TELEGRAM_API_BASE points python-telegram-bot elsewhere (tests use a local
fake of the Bot API). Updates are handled inside the webhook request, so one chat's
messages are answered in order.

Command line (also `python -m bot telegram …`):
    python -m connectors.telegram set-webhook https://…/webhooks/telegram/webhook
    python -m connectors.telegram poll [--rasa-url http://127.0.0.1:5005]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import sqlite3
import sys
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from connectors import guard
from connectors.live import HUB as LIVE

logger = logging.getLogger(__name__)
# httpx logs every request URL at INFO level, and the URL holds the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

DEFAULT_API_BASE = "https://api.telegram.org/bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096  # Telegram's limit for one message (UTF-16 code units)
MAX_CALLBACK_DATA = 64  # bytes
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
DELETABLE_SECONDS = 48 * 3600  # a bot may delete messages of a private chat for 48 h
MAX_RETRY_AFTER = 30.0  # longer flood waits are not waited for inside a webhook call
MAX_UPDATE_BYTES = 256 * 1024
ATTEMPTS = 3
RECENT_UPDATES = 2048  # update ids remembered against redeliveries (per process)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
ERASE_PAYLOAD = "/effacer"
# Bot commands, mapped before connectors/guard.py filters « / » payloads.
COMMANDS = {"/start": "/saluer", "/aide": "/menu", "/urgence": "/urgence_danger", "/effacer": ERASE_PAYLOAD}
MENU_COMMANDS = [
    ("aide", "Ce que je peux faire pour vous"),
    ("urgence", "En danger : les numéros à appeler"),
    ("effacer", "Effacer cette conversation, ici et chez nous"),
]
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

ONLY_TEXT = (
    "Je ne lis que les messages écrits : pouvez-vous m'écrire votre question en quelques mots ? "
    "En danger : le 17 ou le 112, ou un SMS au 114 si vous ne pouvez pas parler."
)
EDITED_TEXT = (
    "Je ne lis pas les messages modifiés : pouvez-vous m'envoyer un nouveau message ? "
    "En danger : le 17 ou le 112, ou un SMS au 114."
)
KEPT_BY_TELEGRAM = (
    "Bon à savoir : Telegram garde cette conversation sur votre téléphone tant que vous ne "
    "l'effacez pas. Envoyez /effacer à tout moment pour la supprimer, chez nous et sur votre "
    "téléphone."
)
LIVE_WAIT_MARK = "vous êtes en attente d'un·e référent·e"  # bot/live waiting_text
PANNE_TEXT = (
    "Je rencontre un problème technique et ne peux pas vous répondre pour l'instant. "
    "Vous pouvez appeler le 3919 (gratuit, anonyme). En danger : le 17, ou un SMS au 114."
)


# -- configuration ----------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    token: str
    secret: str
    api_base: str
    timeout: float

    @classmethod
    def from_env(cls, env: Optional[Dict[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        try:
            timeout = float(env.get("ND_TELEGRAM_TIMEOUT_SECONDS") or 10)
        except ValueError:
            timeout = 10.0
        return cls(
            token=(env.get("ND_TELEGRAM_TOKEN") or "").strip(),
            secret=(env.get("ND_TELEGRAM_SECRET") or "").strip(),
            api_base=(env.get("ND_TELEGRAM_API_BASE") or DEFAULT_API_BASE).strip(),
            timeout=timeout if timeout > 0 else 10.0,
        )


def make_bot(settings: Settings, poll_seconds: float = 0) -> Bot:
    """A Bot whose every call has a timeout; the pool is large enough for concurrent chats."""
    t = settings.timeout
    request = HTTPXRequest(connection_pool_size=16, connect_timeout=t, read_timeout=t, write_timeout=t, pool_timeout=t)
    updates = HTTPXRequest(
        connection_pool_size=2, connect_timeout=t, read_timeout=poll_seconds + t, write_timeout=t, pool_timeout=t
    )
    return Bot(settings.token, base_url=settings.api_base, request=request, get_updates_request=updates)


# -- what is kept: message ids, sealed, 48 h ---------------------------------------------
def _db_path() -> Path:
    from bot.cases import config

    explicit = os.environ.get("ND_TELEGRAM_DB")
    if explicit:
        return Path(explicit)
    return config.make_private_dir(config.state_dir()) / "telegram.sqlite3"


class MessageLog:
    """Ids of the messages of each conversation (hers and the assistant's) for 48 h.

    Each id is sealed (AES-GCM, the case key ring, the conversation id as associated
    data). A SQLite file in the state directory, so that several Rasa workers share it.
    No chat id, no text: only what deleteMessages needs, with the chat id of the
    request that asks for it.
    """

    def __init__(
        self,
        path: Optional[Path] = None,
        keyring: Any = None,
        clock: Callable[[], float] = time.time,
        retention_seconds: float = DELETABLE_SECONDS,
    ) -> None:
        self.path = Path(path) if path is not None else _db_path()
        self._keyring = keyring
        self._clock = clock
        self.retention_seconds = retention_seconds
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS messages (conv TEXT NOT NULL, sealed TEXT NOT NULL, sent_at REAL NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS messages_conv ON messages (conv)")
            db.execute("CREATE TABLE IF NOT EXISTS told (conv TEXT PRIMARY KEY, at REAL NOT NULL)")
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass

    @property
    def keyring(self) -> Any:
        if self._keyring is None:
            from bot.cases.crypto import default_keyring

            self._keyring = default_keyring()
        return self._keyring

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        db.execute("PRAGMA secure_delete = ON")  # erased rows are overwritten in the file
        return db

    def _purge(self, db: sqlite3.Connection, now: float) -> None:
        limit = now - self.retention_seconds
        db.execute("DELETE FROM messages WHERE sent_at < ?", (limit,))
        db.execute("DELETE FROM told WHERE at < ?", (limit,))

    def add(self, conv: str, message_ids: Iterable[int]) -> None:
        now = self._clock()
        rows = [
            (conv, self.keyring.encrypt(str(int(m)), case_id=conv, field="telegram.message_id"), now)
            for m in message_ids
        ]
        with self._lock, self._connect() as db:
            self._purge(db, now)
            if rows:
                db.executemany("INSERT INTO messages (conv, sealed, sent_at) VALUES (?, ?, ?)", rows)
            db.execute("UPDATE told SET at = ? WHERE conv = ?", (now, conv))

    def message_ids(self, conv: str) -> List[int]:
        """The ids still deletable, oldest first; an unreadable row is skipped."""
        now = self._clock()
        with self._lock, self._connect() as db:
            self._purge(db, now)
            rows = db.execute("SELECT sealed FROM messages WHERE conv = ? ORDER BY sent_at, rowid", (conv,)).fetchall()
        ids: List[int] = []
        for (sealed,) in rows:
            try:
                ids.append(int(self.keyring.decrypt(sealed, case_id=conv, field="telegram.message_id")))
            except Exception as exc:  # a key dropped too early: that id is lost, not the others
                logger.warning("telegram: a message id could not be read (%s)", type(exc).__name__)
        return list(dict.fromkeys(ids))

    def was_told(self, conv: str) -> bool:
        with self._lock, self._connect() as db:
            return db.execute("SELECT 1 FROM told WHERE conv = ?", (conv,)).fetchone() is not None

    def mark_told(self, conv: str) -> None:
        with self._lock, self._connect() as db:
            db.execute("INSERT OR REPLACE INTO told (conv, at) VALUES (?, ?)", (conv, self._clock()))

    def erase(self, conv: str) -> None:
        with self._lock, self._connect() as db:
            db.execute("DELETE FROM messages WHERE conv = ?", (conv,))
            db.execute("DELETE FROM told WHERE conv = ?", (conv,))


# -- output -----------------------------------------------------------------------
def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Pieces of at most `limit` UTF-16 units, cut at a paragraph, a line or a space if possible."""
    pieces: List[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        # Largest prefix within the limit (characters outside the BMP count twice).
        end = min(len(rest), limit)
        while _utf16_len(rest[:end]) > limit:
            end -= 1
        window = rest[:end]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > limit // 2:
                break
        if cut <= limit // 2:
            cut = end
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def callback_data(payload: str) -> str:
    """Telegram keeps 64 bytes of callback data: longer payloads travel as a digest."""
    if len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA:
        return payload
    return "nd:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def resolve_callback(data: str, offered: Iterable[str]) -> str:
    """The payload behind a button's callback data (a digest is looked up among the offered ones)."""
    if not data.startswith("nd:"):
        return data
    for payload in offered:
        if callback_data(payload) == data:
            return payload
    return ""


def keyboard(buttons: Sequence[Dict[str, Any]]) -> Optional[InlineKeyboardMarkup]:
    rows = []
    for b in buttons or ():
        if not isinstance(b, dict):
            continue
        title = str(b.get("title") or b.get("payload") or "")[:64]
        payload = str(b.get("payload") or b.get("url") or "")
        if not title or not payload:
            continue
        if b.get("type") == "web_url" or payload.startswith(("https://", "http://")):
            rows.append([InlineKeyboardButton(title, url=b.get("url") or payload)])
        else:
            rows.append([InlineKeyboardButton(title, callback_data=callback_data(payload))])
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramCollector(CollectingOutputChannel):
    """Collects a turn's answers; its name selects the domain's `channel: telegram` variations."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta deprecation of PTB 22
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class Sender:
    """Bot API calls with a timeout, 429 waits, retries, and failures logged by type only."""

    def __init__(
        self,
        bot: Bot,
        timeout: float,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.timeout = timeout
        self.attempts = attempts
        self._sleep = sleep

    async def call(self, method: str, **kwargs: Any) -> Any:
        """The call's result, or None once it failed for good."""
        for attempt in range(1, self.attempts + 1):
            try:
                return await asyncio.wait_for(getattr(self.bot, method)(**kwargs), self.timeout * 2 + 1)
            except RetryAfter as exc:
                delay = _seconds(exc)
                if delay > MAX_RETRY_AFTER or attempt == self.attempts:
                    logger.error("telegram: %s refused by the rate limit (retry after %.0f s)", method, delay)
                    return None
                logger.warning("telegram: %s rate-limited, retried in %.1f s", method, delay)
                await self._sleep(delay)
            except (BadRequest, Forbidden, InvalidToken) as exc:  # retrying would not help
                logger.error("telegram: %s refused (%s)", method, type(exc).__name__)
                return None
            except (NetworkError, asyncio.TimeoutError) as exc:  # TimedOut included
                if attempt == self.attempts:
                    logger.error("telegram: %s failed after %d attempts (%s)", method, attempt, type(exc).__name__)
                    return None
                await self._sleep(0.5 * attempt)
            except TelegramError as exc:
                logger.error("telegram: %s failed (%s)", method, type(exc).__name__)
                return None
        return None

    async def send(self, chat_id: int, message: Dict[str, Any]) -> List[int]:
        """One Rasa message (text, buttons, image, attachment…) as Telegram messages; their ids."""
        text = str(message.get("text") or "")
        extras = [str(message[k]) for k in ("image", "attachment") if isinstance(message.get(k), str)]
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("text"), str):
            extras.append(custom["text"])
        if extras:  # links are sent as text: Telegram makes them clickable
            text = "\n".join([t for t in [text] + extras if t])
        buttons = message.get("buttons") or [
            {"title": q.get("title"), "payload": q.get("payload")}
            for q in message.get("quick_replies") or []
            if isinstance(q, dict)
        ]
        markup = keyboard(buttons)
        if not text.strip():
            if markup is None:
                return []
            text = "Choisissez :"
        pieces = split_text(text)
        ids = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            sent = await self.call(
                "send_message",
                chat_id=chat_id,
                text=piece,
                reply_markup=markup if last else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            if sent is not None and getattr(sent, "message_id", None) is not None:
                ids.append(int(sent.message_id))
        return ids

    async def delete(self, chat_id: int, message_ids: Sequence[int]) -> Tuple[int, int]:
        """(deleted, failed), in batches of 100, one by one where a batch is refused."""
        deleted = failed = 0
        for start in range(0, len(message_ids), DELETE_BATCH):
            batch = list(message_ids[start : start + DELETE_BATCH])
            if await self.call("delete_messages", chat_id=chat_id, message_ids=batch):
                deleted += len(batch)
                continue
            for message_id in batch:
                if await self.call("delete_message", chat_id=chat_id, message_id=message_id):
                    deleted += 1
                else:
                    failed += 1
        return deleted, failed


def erase_report(deleted: int, failed: int, server_erased: bool, ttl_minutes: int) -> str:
    """What /effacer did, and honestly what it could not do."""
    if server_erased:
        lines = ["C'est fait : cette conversation est effacée de notre serveur."]
    else:
        lines = [
            "Je n'ai pas pu effacer la conversation de notre serveur à l'instant : elle le sera "
            f"automatiquement après {ttl_minutes} minutes sans message. Vous pouvez aussi renvoyer /effacer."
        ]
    if deleted:
        lines.append(
            f"Sur votre téléphone, j'ai supprimé les messages de ces dernières 48 heures, les vôtres "
            f"et les miens ({deleted})."
        )
    if failed:
        lines.append(f"{failed} message(s) n'ont pas pu être supprimés : supprimez-les vous-même dans Telegram.")
    lines += [
        "Ce que je ne peux pas effacer :",
        "• les messages de plus de 48 heures : Telegram ne le permet pas, supprimez-les vous-même ;",
        "• les notifications déjà affichées à l'écran ou gardées dans l'historique des notifications ;",
        "• une copie ailleurs : capture d'écran, message transféré, autre appareil, sauvegarde.",
        "Pour retirer aussi cette discussion de votre liste : appui long sur la conversation, puis « Supprimer ».",
        "En cas de danger : le 17 ou le 112, ou un SMS au 114.",
    ]
    return "\n".join(lines)


def _unwrap(store: Any) -> Any:
    """Rasa wraps the configured store in a FailSafeTrackerStore."""
    return getattr(store, "_tracker_store", store)


def _panne() -> Dict[str, Any]:
    try:
        from bot.answers import default_answers

        return default_answers().render("panne").as_rasa()
    except Exception as exc:
        logger.error("telegram: fallback answer unavailable (%s)", type(exc).__name__)
        return {"text": PANNE_TEXT}


def _erase_confirmation() -> str:
    try:
        from bot.answers import default_answers

        return default_answers().render("effacer_confirmation").text.strip()
    except Exception:
        return "C'est fait : cette conversation est supprimée de notre serveur."


# -- the input channel ----------------------------------------------------------------
class TelegramInput(InputChannel):
    """Webhook at /webhooks/telegram/webhook."""

    def __init__(
        self,
        settings: Optional[Settings] = None,
        keyring: Any = None,
        log: Optional[MessageLog] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self._keyring = keyring
        self._log = log
        self.per_conversation, _ = guard.default_limiters(clock)  # every update comes from Telegram's addresses
        self._bot: Optional[Bot] = None
        self._sender: Optional[Sender] = None
        self.app: Any = None
        self._recent: "OrderedDict[int, None]" = OrderedDict()
        if self.settings.token:
            LIVE.telegram = self  # a référent's words are pushed through this channel (connectors/live.py)
        if not self.settings.token:
            logger.info("telegram: ND_TELEGRAM_TOKEN unset, channel inactive")
        elif not self.settings.secret:
            logger.error("telegram: ND_TELEGRAM_SECRET unset, every update will be refused")
        elif not SECRET_RE.match(self.settings.secret):
            logger.error("telegram: ND_TELEGRAM_SECRET must be 1 to 256 characters A-Z a-z 0-9 _ -")

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        # Environment only: the token and secret are never written in credentials.yml.
        return cls()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.token)

    @property
    def keyring(self) -> Any:
        if self._keyring is None:
            from bot.cases.crypto import default_keyring

            self._keyring = default_keyring()
        return self._keyring

    @property
    def message_log(self) -> MessageLog:
        if self._log is None:
            self._log = MessageLog(keyring=self.keyring)
        return self._log

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            self._bot = make_bot(self.settings)
            self._sender = Sender(self._bot, self.settings.timeout)
        return self._sender

    def _seen(self, update_id: int) -> bool:
        """Telegram sends an update again when the webhook was slow to answer: handle it once."""
        if update_id in self._recent:
            return True
        self._recent[update_id] = None
        while len(self._recent) > RECENT_UPDATES:
            self._recent.popitem(last=False)
        return False

    def conversation_id(self, chat_id: int) -> str:
        return self.keyring.conversation_id(str(chat_id), "telegram")

    def _authentic(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER) or ""
        secret = self.settings.secret
        if not secret or not SECRET_RE.match(secret):
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode())

    # -- Rasa's stores ------------------------------------------------------------
    def _agent(self) -> Any:
        return getattr(getattr(self.app, "ctx", None), "agent", None)

    def _tracker_store(self) -> Any:
        return getattr(self._agent(), "tracker_store", None)

    async def _erase_server(self, conv: str) -> bool:
        """The conversation erased on the server (even if action_effacer could not run); checked."""
        agent = self._agent()
        store = _unwrap(getattr(agent, "tracker_store", None))
        erase = getattr(store, "erase", None)
        if erase is None:
            logger.error("telegram: the tracker store cannot erase (%s)", type(store).__name__)
            return False
        try:
            lock_store = getattr(agent, "lock_store", None)
            if lock_store is not None:
                async with lock_store.lock(conv):
                    erase(conv)
            else:
                erase(conv)
            tracker = store.retrieve(conv)
            if asyncio.iscoroutine(tracker):
                tracker = await tracker
        except Exception as exc:
            logger.error("telegram: erase failed (%s)", type(exc).__name__)
            return False
        return tracker is None or not any(getattr(e, "type_name", "") == "user" for e in tracker.events)

    # -- webhook ------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("nd_telegram_webhook", __name__)

        @hook.listener("before_server_start")
        async def keep_app(app: Any, loop: Any) -> None:
            self.app = app

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "inactive"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return response.json({"error": "Canal Telegram inactif."}, status=404)
            if not self._authentic(request):
                logger.warning("telegram: update refused (secret token missing or wrong)")
                return response.json({"error": "Accès refusé."}, status=403)
            if self.app is None:
                self.app = request.app
            try:
                await self.handle(request.body or b"", on_new_message)
            except Exception as exc:  # never a 5xx: Telegram would resend the same update again and again
                logger.error("telegram: update handling failed (%s)", type(exc).__name__)
            return response.json({"ok": True})

        return hook

    async def handle(self, body: bytes, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if len(body) > MAX_UPDATE_BYTES:
            logger.warning("telegram: oversized update ignored")
            return
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            logger.warning("telegram: malformed update ignored")
            return
        if not isinstance(data, dict):
            logger.warning("telegram: malformed update ignored")
            return
        try:
            update = Update.de_json(data, self.sender.bot)
        except Exception as exc:
            logger.warning("telegram: unreadable update ignored (%s)", type(exc).__name__)
            return
        if update is None or self._seen(update.update_id):
            return
        if update.callback_query is not None:
            await self._callback(update, on_new_message)
        elif update.message is not None:
            await self._message(update.message, on_new_message)
        elif update.edited_message is not None:
            chat = update.edited_message.chat
            if chat is not None and chat.type == "private":
                await self._reply(chat.id, self.conversation_id(chat.id), [{"text": EDITED_TEXT}])
        # Channel posts, membership changes, inline queries…: nothing to answer.

    async def _callback(self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        query = update.callback_query
        await self.sender.call("answer_callback_query", callback_query_id=query.id)  # stops the spinner
        message = query.message
        chat = getattr(message, "chat", None)
        if chat is None or chat.type != "private" or not isinstance(query.data, str):
            return
        conv = self.conversation_id(chat.id)
        data = query.data
        if data.startswith("nd:"):
            tracker = await self._tracker(conv)
            data = resolve_callback(data, guard.offered_payloads(getattr(tracker, "events", None) or []))
        if not data:
            return
        await self._turn(chat.id, conv, data, on_new_message, command=False)

    async def _message(self, message: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        chat = message.chat
        if chat is None or chat.type != "private":
            return  # groups, supergroups, channels: silently ignored, nothing said in front of others
        conv = self.conversation_id(chat.id)
        self.message_log.add(conv, [message.message_id])  # hers too: /effacer deletes both sides
        text = message.text
        if not isinstance(text, str) or not text.strip():
            await self._reply(chat.id, conv, [{"text": ONLY_TEXT}])
            return
        await self._turn(chat.id, conv, text, on_new_message, command=True)

    async def _tracker(self, conv: str) -> Any:
        store = self._tracker_store()
        if store is None:
            return None
        try:
            tracker = store.retrieve(conv)
            return await tracker if asyncio.iscoroutine(tracker) else tracker
        except Exception as exc:
            logger.warning("telegram: tracker unavailable (%s)", type(exc).__name__)
            return None

    @staticmethod
    def command(text: str) -> Optional[str]:
        """The payload of a bot command (« /start », « /aide@NomDuBot », « /start xyz »), or None."""
        stripped = text.strip()
        if not stripped.startswith("/"):
            return None
        head = stripped.split(maxsplit=1)[0].split("@", 1)[0].lower()
        return COMMANDS.get(head)

    async def _turn(
        self, chat_id: int, conv: str, text: str, on_new_message: Callable[[UserMessage], Awaitable[Any]], command: bool
    ) -> None:
        payload = self.command(text) if command else None
        if payload is None and text.strip() == ERASE_PAYLOAD:
            payload = ERASE_PAYLOAD  # the « Effacer » button
        if payload not in ("/urgence_danger", ERASE_PAYLOAD) and not self.per_conversation.allow(conv):
            logger.warning("telegram: rate limit reached for a conversation")
            await self._reply(chat_id, conv, [{"text": guard.TOO_FAST_TEXT}])
            return
        if payload is None and len(text) > guard.MAX_MESSAGE_CHARS:
            await self._reply(chat_id, conv, [{"text": guard.TOO_LONG_TEXT}])
            return

        async def reply(messages: List[Dict[str, Any]]) -> None:
            await self._reply(chat_id, conv, [dict(m) for m in messages])

        # A référent holds the conversation: her words go to the console, Rasa stays silent.
        if await LIVE.intercept(self.name(), conv, payload or text, reply):
            return
        if payload is None:
            payload = await guard.filter_payload(text, conv, self._tracker_store())
        collector = TelegramCollector()
        try:
            await on_new_message(UserMessage(payload, collector, conv, input_channel=self.name()))
        except Exception as exc:  # the type only: her text must not reach the log
            logger.error("telegram: message handling failed (%s)", type(exc).__name__)
        messages = [dict(m) for m in collector.messages]
        if any(LIVE_WAIT_MARK in (m.get("text") or "") for m in messages):
            await self._remember_chat(conv, chat_id)
        confirmation = _erase_confirmation()
        if payload == ERASE_PAYLOAD or any((m.get("text") or "").strip() == confirmation for m in messages):
            await self._erase(chat_id, conv)
            return
        if not messages:
            logger.warning("telegram: no answer produced, technical fallback sent")
            messages = [_panne()]
        await self._reply(chat_id, conv, messages)

    async def _reply(self, chat_id: int, conv: str, messages: List[Dict[str, Any]]) -> None:
        ids: List[int] = []
        texts = []
        for message in messages:
            message.pop("recipient_id", None)
            ids += await self.sender.send(chat_id, message)
            texts.append(str(message.get("text") or ""))
        log = self.message_log
        if not log.was_told(conv):
            # Once per conversation: the domain's Telegram discretion line, or this one.
            if not any("Telegram" in t and "/effacer" in t for t in texts):
                ids += await self.sender.send(chat_id, {"text": KEPT_BY_TELEGRAM})
            log.mark_told(conv)
        log.add(conv, ids)

    async def _remember_chat(self, conv: str, chat_id: int) -> None:
        """She waits for a référent: her chat id, sealed in her case, so that the référent can write to her."""
        try:
            await asyncio.to_thread(LIVE.live.set_address, self.keyring.conversation_id(conv, "telegram"), str(chat_id))
        except Exception as exc:
            logger.error("telegram: live address not kept (%s)", type(exc).__name__)

    async def push(self, chat_id: int, conv: str, messages: List[Dict[str, Any]]) -> None:
        """A message that is not an answer (the référent's words, the end of a wait)."""
        await self._reply(chat_id, conv, [dict(m) for m in messages])

    async def _erase(self, chat_id: int, conv: str) -> None:
        await LIVE.erased(self.name(), conv)  # a takeover ends with the conversation
        server_erased = await self._erase_server(conv)
        ids = self.message_log.message_ids(conv)
        deleted, failed = await self.sender.delete(chat_id, ids) if ids else (0, 0)
        self.message_log.erase(conv)
        logger.info("telegram: conversation erased (%d message(s) deleted, %d failed)", deleted, failed)
        from connectors.tracker_store import ttl_seconds

        report = erase_report(deleted, failed, server_erased, round(ttl_seconds() / 60))
        sent = await self.sender.send(chat_id, {"text": report})
        self.message_log.mark_told(conv)  # the report says it already
        self.message_log.add(conv, sent)  # a second /effacer removes the report too


# -- command line: set-webhook, poll ---------------------------------------------------
def _require(settings: Settings) -> Optional[str]:
    if not settings.token:
        return "ND_TELEGRAM_TOKEN n'est pas défini (le jeton donné par @BotFather)."
    if not SECRET_RE.match(settings.secret):
        return (
            "ND_TELEGRAM_SECRET doit être défini : 1 à 256 caractères A-Z, a-z, 0-9, _ ou - "
            "(par exemple : python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    return None


async def set_webhook(url: str, settings: Optional[Settings] = None) -> int:
    settings = settings or Settings.from_env()
    problem = _require(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not url.startswith("https://"):
        print("Telegram n'envoie les messages qu'à une adresse publique en https://", file=sys.stderr)
        return 2
    if not url.rstrip("/").endswith("/webhooks/telegram/webhook"):
        print("attention : l'adresse du canal est …/webhooks/telegram/webhook", file=sys.stderr)
    sender = Sender(make_bot(settings), settings.timeout)
    from telegram import BotCommand

    ok = await sender.call(
        "set_webhook", url=url, secret_token=settings.secret, allowed_updates=ALLOWED_UPDATES, max_connections=20
    )
    if not ok:
        print("setWebhook refusé ou injoignable (voir le journal)", file=sys.stderr)
        return 1
    await sender.call("set_my_commands", commands=[BotCommand(c, d) for c, d in MENU_COMMANDS])
    print("webhook enregistré auprès de Telegram, avec le secret ; commandes /aide, /urgence, /effacer déclarées")
    return 0


async def poll(
    rasa_url: str, settings: Optional[Settings] = None, poll_seconds: int = 25, stop: Optional[asyncio.Event] = None
) -> int:
    """Long polling for local development: each update is posted to Rasa's webhook with the secret."""
    import httpx

    settings = settings or Settings.from_env()
    problem = _require(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    bot = make_bot(settings, poll_seconds=poll_seconds)
    sender = Sender(bot, settings.timeout)
    if await sender.call("delete_webhook") is None:  # getUpdates is refused while a webhook is set
        print("deleteWebhook refusé ou injoignable", file=sys.stderr)
        return 1
    webhook = rasa_url.rstrip("/") + "/webhooks/telegram/webhook"
    print(f"lecture des messages de Telegram, transmis à {webhook} (Ctrl-C pour arrêter)", flush=True)
    offset: Optional[int] = None
    async with httpx.AsyncClient(timeout=60) as client:
        while stop is None or not stop.is_set():
            try:
                updates = await bot.get_updates(offset=offset, timeout=poll_seconds, allowed_updates=ALLOWED_UPDATES)
            except RetryAfter as exc:
                await asyncio.sleep(min(_seconds(exc), 60))
                continue
            except TelegramError as exc:
                logger.warning("telegram: getUpdates failed (%s)", type(exc).__name__)
                await asyncio.sleep(2)
                continue
            for update in updates:
                offset = update.update_id + 1
                try:
                    answer = await client.post(webhook, json=update.to_dict(), headers={SECRET_HEADER: settings.secret})
                    if answer.status_code >= 300:
                        logger.warning("telegram: Rasa answered %d to an update", answer.status_code)
                except httpx.HTTPError as exc:
                    logger.warning("telegram: Rasa unreachable (%s)", type(exc).__name__)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m connectors.telegram", description="Canal Telegram de Nouveau départ"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("set-webhook", help="enregistre l'adresse publique du webhook, avec le secret")
    p.add_argument("url")
    p = sub.add_parser("poll", help="développement local : lit les messages et les passe à Rasa")
    p.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    p.add_argument("--timeout", type=int, default=25, help="durée d'une attente de getUpdates (s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.command == "set-webhook":
            return asyncio.run(set_webhook(args.url))
        return asyncio.run(poll(args.rasa_url, poll_seconds=args.timeout))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
