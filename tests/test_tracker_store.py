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
    asyncio.run(store.save(_tracker("a", UserUttered("secret"), UserUttered("effacer"),
                                    ActionExecuted("action_effacer"), BotUttered("ok"))))
    assert asyncio.run(store.retrieve("a")) is None
    assert "a" not in store.store


def test_earlier_erase_does_not_delete_a_new_conversation():
    store = ErasingInMemoryTrackerStore(Domain.empty(), ttl_minutes=30)
    asyncio.run(store.save(_tracker("b", ActionExecuted("action_effacer"), UserUttered("bonjour"),
                                    ActionExecuted("action_repondre"))))
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
