"""connectors/guard.py: length cap, rate limits, payloads only when offered."""

from __future__ import annotations

import asyncio

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors import guard
from connectors.guard import RateLimiter, default_limiters, filter_payload


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_refuses_beyond_the_limit_then_allows_after_the_window():
    clock = Clock()
    limiter = RateLimiter(3, 60, clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # another conversation is not held up
    clock.now += 30
    assert not limiter.allow("a")
    clock.now += 31  # the first three calls have left the window
    assert limiter.allow("a")


def test_rate_limiter_window_slides():
    clock = Clock()
    limiter = RateLimiter(2, 10, clock)
    assert limiter.allow("a")
    clock.now += 6
    assert limiter.allow("a")
    clock.now += 5  # the first call is 11 s old, the second 5 s
    assert limiter.allow("a")
    assert not limiter.allow("a")


def test_rate_limiter_forgets_idle_keys_and_stays_bounded():
    clock = Clock()
    limiter = RateLimiter(5, 60, clock, max_keys=100)
    for i in range(1000):
        limiter.allow(f"k{i}")
    assert len(limiter) == 100
    clock.now += 61
    limiter.allow("new")
    assert len(limiter) == 1


def test_refused_calls_do_not_extend_the_wait():
    clock = Clock()
    limiter = RateLimiter(1, 10, clock)
    assert limiter.allow("a")
    for _ in range(5):
        clock.now += 1
        assert not limiter.allow("a")
    clock.now += 5
    assert limiter.allow("a")


def test_default_limiters_read_the_environment(monkeypatch):
    monkeypatch.setenv("ND_RATE_PER_CONVERSATION", "2")
    monkeypatch.setenv("ND_RATE_PER_ADDRESS", "nonsense")
    clock = Clock()
    conv, addr = default_limiters(clock)
    assert conv.limit == 2 and conv.per_seconds == 60
    assert addr.limit == 60


def test_texts_are_calm_french_with_the_emergency_numbers():
    assert "2 000" in guard.TOO_LONG_TEXT
    for text in (guard.TOO_LONG_TEXT, guard.TOO_FAST_TEXT):
        assert "17" in text and "114" in text
        assert "tu " not in text.lower()
    assert guard.MAX_MESSAGE_CHARS == 2000


class Store:
    def __init__(self, tracker) -> None:
        self.tracker = tracker

    async def retrieve(self, sender_id):
        return self.tracker if self.tracker and self.tracker.sender_id == sender_id else None


class BrokenStore:
    async def retrieve(self, sender_id):
        raise ConnectionError("down")


def _tracker(sender: str = "s1") -> DialogueStateTracker:
    events = [
        ActionExecuted("action_listen"),
        UserUttered("bonjour", {"name": "saluer"}),
        BotUttered(
            "Voulez-vous ?",
            {
                "buttons": [
                    {"title": "Oui", "payload": "/affirmer"},
                    {"title": "95", "payload": '/territoire{"departement": "95"}'},
                ]
            },
        ),
        ActionExecuted("action_listen"),
    ]
    return DialogueStateTracker.from_events(sender, events, slots=[])


def run(coro):
    return asyncio.run(coro)


def test_offered_payload_is_kept():
    store = Store(_tracker())
    assert run(filter_payload("/affirmer", "s1", store)) == "/affirmer"
    assert run(filter_payload('/territoire{"departement": "95"}', "s1", store)) == '/territoire{"departement": "95"}'


def test_payload_not_offered_becomes_words():
    store = Store(_tracker())
    assert run(filter_payload("/urgence_suicide", "s1", store)) == "urgence_suicide"
    assert run(filter_payload("  //urgence_suicide ", "s1", store)) == "urgence_suicide"
    assert run(filter_payload("/ /affirmer", "s1", store)) == "affirmer"


def test_offered_payload_never_gains_entities():
    store = Store(_tracker())
    forged = '/affirmer{"departement": {"a": 1}}'
    assert run(filter_payload(forged, "s1", store)) == forged.lstrip("/")
    assert not run(filter_payload('/territoire{"departement": "13"}', "s1", store)).startswith("/")


def test_buttons_offered_to_another_conversation_do_not_count():
    store = Store(_tracker("s1"))
    assert run(filter_payload("/affirmer", "other", store)) == "affirmer"


def test_old_buttons_expire_after_two_turns():
    tracker = _tracker()
    for text in ("un", "deux"):
        tracker.update(UserUttered(text, {"name": "autre"}))
        tracker.update(BotUttered("ok"))
    assert run(filter_payload("/affirmer", "s1", Store(tracker))) == "affirmer"


def test_buttons_of_the_previous_turn_still_count():
    tracker = _tracker()
    tracker.update(UserUttered("un", {"name": "autre"}))
    tracker.update(SlotSet("x", None))
    assert run(filter_payload("/affirmer", "s1", Store(tracker))) == "/affirmer"


@pytest.mark.parametrize("store", [None, Store(None), BrokenStore()])
def test_no_tracker_means_plain_text(store):
    assert run(filter_payload("/affirmer", "s1", store)) == "affirmer"


def test_ordinary_text_is_untouched():
    assert run(filter_payload("  bonjour / merci ", "s1", None)) == "  bonjour / merci "


def test_events_as_dicts_are_read_too():
    events = [{"event": "bot", "text": "?", "data": {"buttons": [{"title": "x", "payload": "/refuser"}]}}]
    assert guard.offered_payloads(events) == {"/refuser"}


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.text(max_size=30).map(lambda t: "/" + t),
        st.sampled_from(["/affirmer", " /affirmer", '/affirmer{"x": 1}', "//", "/\u2003/affirmer"]),
    )
)
def test_whatever_she_types_only_an_offered_payload_reaches_rasa_as_one(text):
    out = run(filter_payload(text, "s1", Store(_tracker())))
    offered = {"/affirmer", '/territoire{"departement": "95"}'}
    assert out in offered or not out.strip().startswith("/")
