"""What every public channel checks before a message reaches Rasa.

- `MAX_MESSAGE_CHARS`: longer messages are refused with `TOO_LONG_TEXT` (the danger
  detector must never be fed a huge text: it would hold up the process that answers
  emergencies).
- `RateLimiter`: per conversation and per address (`default_limiters()`), answered
  with `TOO_FAST_TEXT`.
- `filter_payload`: text beginning with « / » is a payload only if the assistant
  offered it as a button in this conversation; anything else becomes plain text, so
  no one forces an intent (or entities) by typing `/urgence_suicide` or
  `/pack_territoire{"departement": …}`.

Channels call it from their Sanic handler with Rasa's tracker store, found at
`request.app.ctx.agent.tracker_store`:

    text = await filter_payload(text, sender_id, request.app.ctx.agent.tracker_store)

The API takes plain values (no Sanic request) so it can be unit-tested and shared by
the REST, socket.io and Telegram channels.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections import OrderedDict, deque
from typing import Any, Callable, Deque, Iterable, Optional, Set, Tuple

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
# Keys remembered at most per limiter: beyond it the least recently seen are forgotten.
MAX_KEYS = 50_000
# How many past turns (bot answers between two user messages) may have offered a button.
BUTTON_TURNS = 2

TOO_LONG_TEXT = (
    "Votre message est trop long : il peut contenir au plus 2 000 caractères. "
    "Pouvez-vous le découper en plusieurs messages plus courts ? "
    "Si vous êtes en danger, appelez le 17, ou envoyez un SMS au 114 si vous ne pouvez pas parler."
)
TOO_FAST_TEXT = (
    "Vous envoyez beaucoup de messages à la suite : pouvez-vous ralentir un peu ? "
    "Je vous réponds dans un instant. "
    "Si vous êtes en danger, appelez le 17, ou envoyez un SMS au 114 si vous ne pouvez pas parler."
)


class RateLimiter:
    """Sliding window: at most `limit` calls per `per_seconds` for each key.

    Memory stays bounded: a key idle for a whole window is forgotten, and no more
    than `max_keys` keys are kept (the least recently seen go first).
    """

    def __init__(
        self, limit: int, per_seconds: float, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS
    ) -> None:
        if limit < 1 or per_seconds <= 0:
            raise ValueError("limit must be >= 1 and per_seconds > 0")
        self.limit = int(limit)
        self.per_seconds = float(per_seconds)
        self.max_keys = max(1, int(max_keys))
        self._clock = clock
        self._hits: "OrderedDict[str, Deque[float]]" = OrderedDict()
        self._last_sweep = clock()

    def allow(self, key: str) -> bool:
        now = self._clock()
        self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        else:
            self._hits.move_to_end(key)
        while hits and now - hits[0] >= self.per_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._hits)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self.per_seconds:
            return
        self._last_sweep = now
        # Ordered by last call: idle keys are at the front.
        while self._hits:
            key, hits = next(iter(self._hits.items()))
            if hits and now - hits[-1] < self.per_seconds:
                break
            self._hits.popitem(last=False)


def _env_rate(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, "") or default)
    except ValueError:
        logger.warning("%s is not a whole number: %d used", name, default)
        return default
    return value if value >= 1 else default


def default_limiters(clock: Callable[[], float] = time.monotonic) -> Tuple[RateLimiter, RateLimiter]:
    """(per conversation, per address), messages per minute from ND_RATE_PER_CONVERSATION (20)
    and ND_RATE_PER_ADDRESS (60)."""
    return (
        RateLimiter(_env_rate("ND_RATE_PER_CONVERSATION", 20), 60.0, clock),
        RateLimiter(_env_rate("ND_RATE_PER_ADDRESS", 60), 60.0, clock),
    )


def _event_fields(event: Any) -> Tuple[Optional[str], Any]:
    """(type, data) of a Rasa event object or of its dict form."""
    if isinstance(event, dict):
        return event.get("event"), event.get("data")
    return getattr(event, "type_name", None), getattr(event, "data", None)


def _buttons(data: Any) -> Iterable[str]:
    if not isinstance(data, dict):
        return ()
    buttons = data.get("buttons") or []
    if not isinstance(buttons, list):
        return ()
    return [b["payload"] for b in buttons if isinstance(b, dict) and isinstance(b.get("payload"), str)]


def offered_payloads(events: Iterable[Any], turns: int = BUTTON_TURNS) -> Set[str]:
    """Button payloads the assistant sent in the last `turns` turns of these events."""
    offered: Set[str] = set()
    users = 0
    for event in reversed(list(events)):
        kind, data = _event_fields(event)
        if kind == "user":
            users += 1
            if users >= turns:
                break
        elif kind == "bot":
            offered.update(_buttons(data))
    return offered


def _plain(text: str) -> str:
    """The text without its leading slashes: read as words by the NLU and the danger detector."""
    stripped = text.strip()
    while stripped.startswith("/"):
        stripped = stripped[1:].strip()
    return stripped


async def filter_payload(text: str, sender_id: str, tracker_store: Any) -> str:
    """`text` if it is not a payload, or is a payload offered as a button; else plain text."""
    if not text.strip().startswith("/"):
        return text
    candidate = text.strip()
    try:
        tracker = tracker_store.retrieve(sender_id) if tracker_store is not None else None
        if inspect.isawaitable(tracker):
            tracker = await tracker
    except Exception as exc:  # a store that fails must not let a forged payload through
        logger.warning("guard: tracker unavailable (%s), payload read as text", type(exc).__name__)
        tracker = None
    events = getattr(tracker, "events", None) or []
    if candidate in offered_payloads(events):
        return candidate
    return _plain(text)
