"""Tracker stores that forget: on « effacer », and after inactivity.

Rasa's own stores keep every conversation (the in-memory one until the server
stops), and a restart event only hides the past. Here the conversation is
removed for real: the moment the erase action has run, or once it has been
idle longer than `ttl_minutes` (env ND_CONVERSATION_TTL_MINUTES, default 30).

- ErasingInMemoryTrackerStore: the embedded default (endpoints.yml), one Rasa process.
- ErasingRedisTrackerStore: several Rasa workers sharing conversations
  (endpoints.scaled.yml, `make run-scaled`); Redis expires idle ones itself.
- ErasingSQLTrackerStore: conversations in PostgreSQL (Rasa's SQL store), when Redis
  is not available; idle ones are deleted by a sweep.

Outside memory nothing is readable at rest: the conversation is sealed with the case
key ring (bot/cases/crypto.py: AES-GCM, key id in the envelope), the Redis key and
the SQL `sender_id` are a keyed pseudonym of the conversation id, and that pseudonym
is the associated data (a sealed conversation moved to another key does not open).
`python -m bot rotate-keys` re-seals them (`reseal_conversations`).

In every store, once the handoff's case exists, what she typed during the contact
form (and the read-back of her plan) is blanked from the history (`redact_contact`):
the case holds her contact details, the conversation no longer does.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, Iterable, List, Optional, Text, Tuple

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import conversation_ttl_minutes

logger = logging.getLogger(__name__)
ERASE_ACTION = "action_effacer"
SWEEP_EVERY_SECONDS = 30.0
SEAL_FIELD = "conversation"
PSEUDONYM_CHANNEL = "tracker"
REDIS_KEY_PREFIX = "nd:conv:"

# The handoff (actions/handoff.py, data/rules_handoff.yml): the form that asks for her
# contact plan, the action that creates the case and the slot holding its reference.
CONTACT_FORM = "contact_form"
CREATE_CASE_ACTION = "action_creer_dossier"
REFERENCE_SLOT = "dossier_reference"
STEP_SLOT = "contact_etape"
# The step once the request is sent, or while a slow write is still running (« enregistrement:REF… »).
SENT_STEPS = ("envoyee", "enregistrement")
CONTACT_SLOT_PREFIX = "contact_"


def _case_exists(event: Dict[str, Any]) -> bool:
    if event.get("event") != "slot" or not event.get("value"):
        return False
    if event.get("name") == REFERENCE_SLOT:
        return True
    return event.get("name") == STEP_SLOT and str(event["value"]).startswith(SENT_STEPS)


# -- her contact details leave the conversation once the case exists ----------------
def _blank_user(event: Dict[str, Any]) -> Dict[str, Any]:
    parse = event.get("parse_data") if isinstance(event.get("parse_data"), dict) else {}
    kept = {k: parse[k] for k in ("intent", "intent_ranking") if k in parse}
    return {**event, "text": "", "parse_data": {**kept, "text": "", "entities": []}, "metadata": {}}


def _blank_bot(event: Dict[str, Any]) -> Dict[str, Any]:
    return {**event, "text": "", "data": {}, "metadata": {}}


def redact_contact(events: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], bool]:
    """Events (as dicts) with the contact form's texts and contact slots blanked, for every
    form that ended in a case; and whether anything changed. Idempotent."""
    out = list(events)
    changed = False
    window_start: Optional[int] = None
    for i, event in enumerate(events):
        kind, name = event.get("event"), event.get("name")
        if kind == "active_loop" and name == CONTACT_FORM and window_start is None:
            window_start = i
        if window_start is not None and _case_exists(event):
            # The case exists: blank from the form's start to the case creation.
            created = max(
                (
                    j
                    for j in range(window_start, i)
                    if events[j].get("event") == "action" and events[j].get("name") == CREATE_CASE_ACTION
                ),
                default=i,
            )
            for j in range(window_start, created + 1):
                ev = out[j]
                if ev.get("event") == "user" and (ev.get("text") or (ev.get("parse_data") or {}).get("entities")):
                    out[j], changed = _blank_user(ev), True
                elif ev.get("event") == "bot" and (ev.get("text") or ev.get("data")):
                    out[j], changed = _blank_bot(ev), True
                elif (
                    ev.get("event") == "slot"
                    and str(ev.get("name", "")).startswith(CONTACT_SLOT_PREFIX)
                    and ev.get("name") != STEP_SLOT
                    and ev.get("value") is not None
                ):
                    out[j], changed = {**ev, "value": None}, True
            window_start = None
    return out, changed


def _redacted(tracker: DialogueStateTracker, domain: Optional[Domain]) -> DialogueStateTracker:
    events = [e.as_dict() for e in tracker.events]
    redacted, changed = redact_contact(events)
    if not changed:
        return tracker
    slots = domain.slots if domain is not None else list(tracker.slots.values())
    return DialogueStateTracker.from_dict(
        tracker.sender_id, redacted, slots, max_event_history=tracker._max_event_history
    )


# -- sealing -------------------------------------------------------------------------
def _keyring(keyring: Any = None) -> Any:
    if keyring is not None:
        return keyring
    from bot.cases.crypto import default_keyring

    return default_keyring()


class _Sealed:
    """Pseudonym and AES-GCM envelope for a store that writes outside the process."""

    keyring: Any

    def pseudonym(self, sender_id: Text) -> Text:
        return self.keyring.conversation_id(sender_id, PSEUDONYM_CHANNEL)

    def seal(self, pseudonym: Text, plaintext: Text) -> Text:
        return self.keyring.encrypt(plaintext, case_id=pseudonym, field=SEAL_FIELD)

    def unseal(self, pseudonym: Text, token: Text) -> Optional[Text]:
        from bot.cases.crypto import CryptoError

        try:
            return self.keyring.decrypt(token, case_id=pseudonym, field=SEAL_FIELD).decode()
        except CryptoError as exc:  # lost key or tampered value: the conversation starts afresh
            logger.error("conversation unreadable (%s)", type(exc).__name__)
            return None


def erase_requested(tracker: DialogueStateTracker) -> bool:
    """True if the erase action ran since the last user message."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == ERASE_ACTION:
            return True
        if isinstance(event, UserUttered):
            return False
    return False


def ttl_seconds(ttl_minutes: Optional[float] = None) -> float:
    return float(ttl_minutes if ttl_minutes is not None else conversation_ttl_minutes()) * 60


class ErasingInMemoryTrackerStore(InMemoryTrackerStore):
    def __init__(
        self,
        domain: Domain,
        event_broker: Any = None,
        ttl_minutes: Optional[float] = None,
        clock: Any = time.monotonic,
        **kwargs: Dict[Text, Any],
    ) -> None:
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
        await super().save(_redacted(tracker, self.domain))
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


class ErasingRedisTrackerStore(_Sealed, RedisTrackerStore):
    """Conversations in Redis, shared by several Rasa workers, with the same forgetting rules.

    Every save resets the key's expiry to the idle limit, so Redis itself
    deletes idle conversations; « effacer » deletes the key at once. The value is
    sealed and the key is a pseudonym. Run Redis without persistence (no RDB/AOF
    file) all the same.
    """

    def __init__(
        self,
        domain: Domain,
        host: Text = "localhost",
        port: Any = 6379,
        db: Any = 0,
        event_broker: Any = None,
        ttl_minutes: Optional[float] = None,
        keyring: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("record_exp", None)
        kwargs.pop("key_prefix", None)
        super().__init__(
            domain,
            host=host,
            port=int(port),
            db=int(db),
            event_broker=event_broker,
            record_exp=max(1, round(ttl_seconds(ttl_minutes))),
            **kwargs,
        )
        self.key_prefix = REDIS_KEY_PREFIX
        self.keyring = _keyring(keyring)

    def _key(self, sender_id: Text) -> Text:
        return self.key_prefix + self.pseudonym(sender_id)

    def _load(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        stored = self.red.get(self._key(sender_id))
        if stored is None:
            return None
        plain = self.unseal(self.pseudonym(sender_id), stored)
        return None if plain is None else self.deserialise_tracker(sender_id, plain)

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        if erase_requested(tracker):
            self.erase(tracker.sender_id)
            logger.info("conversation erased on request")
            return
        await self.stream_events(tracker)
        prior = self._load(tracker.sender_id)
        if prior is not None:
            tracker = self._merge_trackers(prior, tracker)
        tracker = _redacted(tracker, self.domain)
        sealed = self.seal(self.pseudonym(tracker.sender_id), self.serialise_tracker(tracker))
        self.red.set(self._key(tracker.sender_id), sealed, ex=timeout or self.record_exp)

    async def _retrieve(self, sender_id: Text, fetch_all_sessions: bool) -> Optional[DialogueStateTracker]:
        import rasa.shared.core.trackers

        tracker = self._load(sender_id)
        if tracker is None or fetch_all_sessions:
            return tracker
        sessions = rasa.shared.core.trackers.get_trackers_for_conversation_sessions(tracker)
        return tracker if len(sessions) <= 1 else sessions[-1]

    async def keys(self) -> Iterable[Text]:
        # Pseudonyms only: the ids themselves are not kept.
        return [k[len(self.key_prefix) :] for k in self.red.scan_iter(self.key_prefix + "*")]

    def erase(self, sender_id: Text) -> None:
        self.red.delete(self._key(sender_id))

    def reseal(self) -> int:
        """Every conversation sealed again with the current key; returns how many."""
        import redis

        count = 0
        for key in self.red.scan_iter(self.key_prefix + "*"):
            pseudonym = key[len(self.key_prefix) :]
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)  # a worker saving meanwhile wins: its value is newer
                    stored = pipe.get(key)
                    if stored is None or self.keyring.is_current(stored):
                        continue
                    plain = self.unseal(pseudonym, stored)
                    if plain is None:
                        continue
                    pipe.multi()
                    pipe.set(key, self.seal(pseudonym, plain), keepttl=True)
                    pipe.execute()
                    count += 1
                except redis.WatchError:
                    continue
        return count


class ErasingSQLTrackerStore(_Sealed, SQLTrackerStore):
    """Conversations in PostgreSQL (or any database of Rasa's SQL store), sealed.

    One row per event as in Rasa's store, but `sender_id` is the pseudonym, `data`
    the sealed event, and the intent and action columns stay empty (an intent such
    as urgence_* says too much). « Effacer » deletes the rows at once; a sweep
    deletes conversations idle longer than ND_CONVERSATION_TTL_MINUTES.
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        ttl_minutes: Optional[float] = None,
        keyring: Any = None,
        clock: Any = time.time,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, **kwargs)
        self.keyring = _keyring(keyring)
        self.ttl_seconds = ttl_seconds(ttl_minutes)
        self._clock = clock
        self._last_sweep = float("-inf")

    def _event_query(self, session: Any, sender_id: Text, fetch_events_from_all_sessions: bool) -> Any:
        return super()._event_query(session, self.pseudonym(sender_id), fetch_events_from_all_sessions)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        self._sweep()
        pseudonym = self.pseudonym(sender_id)
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions).all()
            events = []
            for row in rows:
                plain = self.unseal(pseudonym, row.data)
                if plain is None:
                    return None
                events.append(json.loads(plain))
        if not (self.domain and events):
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _row(self, pseudonym: Text, event: Dict[str, Any]) -> Any:
        return self.SQLEvent(
            sender_id=pseudonym,
            type_name=event.get("event"),
            timestamp=event.get("timestamp"),
            intent_name=None,
            action_name=None,
            data=self.seal(pseudonym, json.dumps(event)),
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._sweep()
        if erase_requested(tracker):
            self.erase(tracker.sender_id)
            logger.info("conversation erased on request")
            return
        await self.stream_events(tracker)
        pseudonym = self.pseudonym(tracker.sender_id)
        events, changed = redact_contact([e.as_dict() for e in tracker.events])
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False)
            if changed:
                # Blanked events were stored in earlier turns: this session is written again.
                ids = [row.id for row in stored.with_entities(self.SQLEvent.id).all()]
                if ids:
                    session.query(self.SQLEvent).filter(self.SQLEvent.id.in_(ids)).delete(synchronize_session=False)
                new = events
            else:
                new = events[stored.count() :]
            for event in new:
                session.add(self._row(pseudonym, event))
            session.commit()

    async def keys(self) -> Iterable[Text]:
        return await super().keys()  # pseudonyms

    def erase(self, sender_id: Text) -> None:
        with self.session_scope() as session:
            session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == self.pseudonym(sender_id)).delete(
                synchronize_session=False
            )
            session.commit()

    def _sweep(self) -> None:
        import sqlalchemy as sa

        now = self._clock()
        if now - self._last_sweep < min(SWEEP_EVERY_SECONDS, self.ttl_seconds):
            return
        self._last_sweep = now
        with self.session_scope() as session:
            idle = (
                session.query(self.SQLEvent.sender_id)
                .group_by(self.SQLEvent.sender_id)
                .having(sa.func.max(self.SQLEvent.timestamp) < now - self.ttl_seconds)
                .subquery()
            )
            count = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id.in_(sa.select(idle.c.sender_id)))
                .delete(synchronize_session=False)
            )
            session.commit()
        if count:
            logger.info("idle conversation events erased: %d", count)

    def reseal(self, batch: int = 500) -> int:
        """Every event sealed again with the current key; returns how many."""
        count = 0
        with self.session_scope() as session:
            for row in session.query(self.SQLEvent).yield_per(batch):
                if self.keyring.is_current(row.data):
                    continue
                plain = self.unseal(row.sender_id, row.data)
                if plain is not None:
                    row.data = self.seal(row.sender_id, plain)
                    count += 1
            session.commit()
        return count


def reseal_conversations(env: Optional[Dict[str, str]] = None, keyring: Any = None) -> Dict[str, int]:
    """Re-seal the conversations of the stores configured in the environment (rotate-keys):
    Redis when ND_REDIS_HOST is set (db ND_REDIS_DB), SQL when ND_TRACKER_DB_URL is set."""
    env = dict(os.environ if env is None else env)
    done: Dict[str, int] = {}
    ring = _keyring(keyring)
    if env.get("ND_REDIS_HOST"):
        store = ErasingRedisTrackerStore(
            Domain.empty(),
            host=env["ND_REDIS_HOST"],
            port=int(env.get("ND_REDIS_PORT") or 6379),
            db=int(env.get("ND_REDIS_DB") or 5),
            keyring=ring,
        )
        done["redis"] = store.reseal()
    if env.get("ND_TRACKER_DB_URL"):
        store_sql = ErasingSQLTrackerStore(Domain.empty(), host=env["ND_TRACKER_DB_URL"], keyring=ring)
        done["sql"] = store_sql.reseal()
        store_sql.engine.dispose()
    return done


class PseudonymousRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store, with locks filed under the conversation's pseudonym
    (the raw id, a Telegram chat id for instance, is not written to Redis)."""

    def __init__(self, endpoint_config: Any = None, keyring: Any = None, **kwargs: Any) -> None:
        options = {**(getattr(endpoint_config, "kwargs", None) or {}), **kwargs}
        host = getattr(endpoint_config, "url", None) or options.pop("host", "localhost")
        allowed = ("username", "password", "use_ssl", "key_prefix", "socket_timeout")
        super().__init__(
            host=host,
            port=int(options.pop("port", 6379)),
            db=int(options.pop("db", 1)),
            **{k: v for k, v in options.items() if k in allowed},
        )
        self.keyring = _keyring(keyring)

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[Any]:
        pseudonym = self.keyring.conversation_id(conversation_id, PSEUDONYM_CHANNEL)
        async with super().lock(pseudonym, lock_lifetime, wait_time_in_seconds) as ticket:
            yield ticket
