"""The held-out first messages of issue 9 (tests/nlu/heldout_2026_12_s.yml), through the trained pipeline.

The set was written by an author shown neither data/nlu, data/safety nor the detector, and
is never edited to fit the model. `make nlu-report` measures it on the really started bot
(reply text); this test reads the same decisions in-process, from the parse data the
actions read, and guards the figures the README reports against a regression.
Targets of the issue: recall >= 0.99 per critical kind, false alarms <= 3 % on near-misses,
topics >= 0.95. The floors below are what was measured, not the targets where a target is
not reached: the README says which.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.safety.decision import NUMBERS_NEEDED, SafetyDecision, numbers_given
from bot.safety.heldout import held_out, load_set, topic_of, training_texts

from .conftest import MODEL, ROOT

HELD_OUT = ROOT / "tests" / "nlu" / "heldout_2026_12_s.yml"
URGENT = {"urgence_danger", "urgence_agresseur_present", "urgence_suicide", "urgence_enfant"}
FLOORS = {
    # Set S, measured held out at 1.000 on every kind, no false alarm, topics 0.965 (README).
    # The floors leave one miss per kind (about 60 each) for a retrain's noise, no more.
    "recall": {"danger": 0.98, "agresseur_present": 0.98, "suicide": 0.98, "enfant": 0.98},
    "false_alarms": 0.02,
    "topics": 0.94,
}


def _all_messages() -> list[dict]:
    return load_set(HELD_OUT)


def _messages() -> list[dict]:
    return held_out(_all_messages(), training_texts(ROOT / "data"))


@pytest.fixture(scope="module")
def parsed() -> list[tuple[dict, dict]]:
    from rasa.core.agent import load_agent

    async def run():
        agent = await load_agent(model_path=str(MODEL))
        return [(m, await agent.parse_message(m["text"])) for m in _messages()]

    return asyncio.run(run())


def _decision(parse: dict) -> SafetyDecision:
    data = parse.get("safety") or {}
    return SafetyDecision(
        data.get("kind"), data.get("source") or "", tuple(data.get("net") or ()), minor=bool(data.get("minor"))
    )


def test_the_set_is_held_out_and_large_enough():
    messages = _messages()
    # Equal to a training example by chance: a few short ones, never a large part of the set.
    assert len(_all_messages()) - len(messages) <= 0.12 * len(_all_messages())
    critical = [m for m in messages if m["part"] == "critical"]
    assert len(messages) >= 400 and len(critical) >= 150
    assert len([m for m in messages if m["part"] == "near_miss"]) >= 100


def test_each_critical_kind_gets_its_number(parsed):
    for kind, floor in FLOORS["recall"].items():
        rows = [p for m, p in parsed if m["part"] == "critical" and m["kind"] == kind]
        hit = [p for p in rows if NUMBERS_NEEDED[kind] <= numbers_given(_decision(p))]
        missed = [p["text"] for p in rows if p not in hit]
        assert len(hit) / len(rows) >= floor, (kind, missed)


def test_near_misses_get_the_answer_they_asked_for(parsed):
    near = [p for m, p in parsed if m["part"] == "near_miss"]
    alarms = [p["text"] for p in near if p["intent"]["name"] in URGENT]
    assert len(alarms) / len(near) <= FLOORS["false_alarms"], alarms


def test_topics_are_recognised(parsed):
    topics = [(m, p) for m, p in parsed if m["part"] == "topic"]
    right = sum(topic_of(p) == m["topic"] for m, p in topics)
    assert right / len(topics) >= FLOORS["topics"]
