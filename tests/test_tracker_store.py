"""The erasing tracker store: « effacer » and inactivity remove the conversation for real."""

import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.tracker_store import ErasingInMemoryTrackerStore


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _tracker(sender, *events):
    return DialogueStateTracker.from_events(sender, list(events))


def test_erase_action_deletes_the_conversation():
    store = ErasingInMemoryTrackerStore(Domain.empty(), ttl_minutes=30)
    asyncio.run(store.save(_tracker("a", UserUttered("secret"), ActionExecuted("action_repondre"))))
    assert asyncio.run(store.retrieve("a")) is not None
    asyncio.run(
        store.save(
            _tracker(
                "a", UserUttered("secret"), UserUttered("effacer"), ActionExecuted("action_effacer"), BotUttered("ok")
            )
        )
    )
    assert asyncio.run(store.retrieve("a")) is None
    assert "a" not in store.store


def test_earlier_erase_does_not_delete_a_new_conversation():
    store = ErasingInMemoryTrackerStore(Domain.empty(), ttl_minutes=30)
    asyncio.run(
        store.save(
            _tracker("b", ActionExecuted("action_effacer"), UserUttered("bonjour"), ActionExecuted("action_repondre"))
        )
    )
    assert asyncio.run(store.retrieve("b")) is not None


def test_idle_conversations_expire():
    clock = Clock()
    store = ErasingInMemoryTrackerStore(Domain.empty(), ttl_minutes=1, clock=clock)
    asyncio.run(store.save(_tracker("old", UserUttered("x"))))
    clock.now += 30
    asyncio.run(store.save(_tracker("recent", UserUttered("y"))))
    clock.now += 45  # old: 75 s idle, recent: 45 s
    assert asyncio.run(store.retrieve("old")) is None
    assert asyncio.run(store.retrieve("recent")) is not None


# -- the Redis store for several workers, against the machine's real Redis --------------------
import secrets  # noqa: E402

import pytest  # noqa: E402
import redis  # noqa: E402

from connectors.tracker_store import ErasingRedisTrackerStore  # noqa: E402

REDIS_DB = 14  # the tests' own database, emptied after use


@pytest.fixture
def redis_store():
    store = ErasingRedisTrackerStore(Domain.empty(), host="127.0.0.1", port="6379", db=str(REDIS_DB), ttl_minutes=30)
    yield store
    redis.StrictRedis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()


def test_redis_store_keeps_then_erases_on_request(redis_store):
    sender = f"t-{secrets.token_hex(4)}"
    asyncio.run(redis_store.save(_tracker(sender, UserUttered("secret"), ActionExecuted("action_repondre"))))
    assert asyncio.run(redis_store.retrieve(sender)) is not None
    asyncio.run(
        redis_store.save(
            _tracker(
                sender,
                UserUttered("secret"),
                UserUttered("effacer"),
                ActionExecuted("action_effacer"),
                BotUttered("ok"),
            )
        )
    )
    assert asyncio.run(redis_store.retrieve(sender)) is None
    assert not redis_store.red.exists(redis_store._key(sender))


def test_redis_store_expires_idle_conversations(redis_store):
    sender = f"t-{secrets.token_hex(4)}"
    asyncio.run(redis_store.save(_tracker(sender, UserUttered("bonjour"), ActionExecuted("action_repondre"))))
    ttl = redis_store.red.ttl(redis_store._key(sender))
    assert 29 * 60 < ttl <= 30 * 60  # each save resets the idle limit
    short = ErasingRedisTrackerStore(Domain.empty(), host="127.0.0.1", port=6379, db=REDIS_DB, ttl_minutes=1 / 60)
    asyncio.run(short.save(_tracker(sender + "x", UserUttered("bonjour"))))
    import time

    time.sleep(1.5)
    assert asyncio.run(short.retrieve(sender + "x")) is None
