"""Tracker stores that forget: on « effacer », and after inactivity.

Rasa's own stores keep every conversation (the in-memory one until the server
stops), and a restart event only hides the past. Here the conversation is
removed for real: the moment the erase action has run, or once it has been
idle longer than `ttl_minutes` (env ND_CONVERSATION_TTL_MINUTES, default 30).

- ErasingInMemoryTrackerStore: the embedded default (endpoints.yml), one Rasa process.
- ErasingRedisTrackerStore: several Rasa workers sharing conversations
  (endpoints.scaled.yml, `make run-scaled`); Redis expires idle ones itself.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Dict, Optional, Text

from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)
ERASE_ACTION = "action_effacer"
SWEEP_EVERY_SECONDS = 30.0


def erase_requested(tracker: DialogueStateTracker) -> bool:
    """True if the erase action ran since the last user message."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == ERASE_ACTION:
            return True
        if isinstance(event, UserUttered):
            return False
    return False


def ttl_seconds(ttl_minutes: Optional[float] = None) -> float:
    env_ttl = os.environ.get("ND_CONVERSATION_TTL_MINUTES")
    return float(ttl_minutes if ttl_minutes is not None else (env_ttl or 30)) * 60


class ErasingInMemoryTrackerStore(InMemoryTrackerStore):
    def __init__(self, domain: Domain, event_broker: Any = None, ttl_minutes: Optional[float] = None,
                 clock: Any = time.monotonic, **kwargs: Dict[Text, Any]) -> None:
        kwargs.pop("host", None)
        super().__init__(domain, event_broker, **kwargs)
        self.ttl_seconds = ttl_seconds(ttl_minutes)
        self._clock = clock
        self._last_seen: Dict[Text, float] = {}
        self._last_sweep = clock()

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._sweep()
        if erase_requested(tracker):
            self.erase(tracker.sender_id)
            logger.info("conversation erased on request")
            return
        await super().save(tracker)
        self._last_seen[tracker.sender_id] = self._clock()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        self._sweep()
        return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        self._sweep()
        return await super().retrieve_full_tracker(sender_id)

    def erase(self, sender_id: Text) -> None:
        self.store.pop(sender_id, None)
        self._last_seen.pop(sender_id, None)

    def _sweep(self) -> None:
        now = self._clock()
        if now - self._last_sweep < min(SWEEP_EVERY_SECONDS, self.ttl_seconds):
            return
        self._last_sweep = now
        expired = [k for k, seen in self._last_seen.items() if now - seen > self.ttl_seconds]
        for sender_id in expired:
            self.erase(sender_id)
        if expired:
            logger.info("%d idle conversation(s) erased", len(expired))


class ErasingRedisTrackerStore(RedisTrackerStore):
    """Conversations in Redis, shared by several Rasa workers, with the same forgetting rules.

    Every save resets the key's expiry to the idle limit, so Redis itself
    deletes idle conversations; « effacer » deletes the key at once. Run Redis
    without persistence (no RDB/AOF file): nothing of hers should reach a disk.
    """

    def __init__(self, domain: Domain, host: Text = "localhost", port: Any = 6379, db: Any = 0,
                 event_broker: Any = None, ttl_minutes: Optional[float] = None, **kwargs: Any) -> None:
        kwargs.pop("record_exp", None)
        super().__init__(domain, host=host, port=int(port), db=int(db), event_broker=event_broker,
                         record_exp=max(1, round(ttl_seconds(ttl_minutes))), **kwargs)

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        if erase_requested(tracker):
            self.erase(tracker.sender_id)
            logger.info("conversation erased on request")
            return
        await super().save(tracker, timeout)

    def erase(self, sender_id: Text) -> None:
        self.red.delete(self.key_prefix + sender_id)
