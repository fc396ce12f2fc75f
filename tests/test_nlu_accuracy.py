"""Held-out NLU test set (tests/nlu/test_nlu.yml, written apart from the training data).

Runs the whole trained pipeline (model, place and danger components) and
writes a per-intent report to results/nlu_report.md.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import pytest
import yaml

from bot.danger import INTENT_FOR_KIND

from .conftest import MODEL, ROOT

TEST_SET = ROOT / "tests" / "nlu" / "test_nlu.yml"
TRAINING = sorted((ROOT / "data" / "nlu").glob("*.yml"))
URGENT = set(INTENT_FOR_KIND.values())
# 0.937 before the safety model (issue 9), 0.930 after (it answers a few of this set's topic
# sentences as emergencies: men hit now), 0.966 with the topic blend (bot/topics). The honest
# figures are the held-out sets' (README): this set was written by the same hands as the data.
MIN_ACCURACY = 0.95


def _examples(path: Path) -> list[tuple[str, str]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        (block["intent"], line[2:].strip())
        for block in doc["nlu"]
        for line in block["examples"].splitlines()
        if line.startswith("- ")
    ]


@pytest.fixture(scope="module")
def predictions() -> list[tuple[str, str, str]]:
    from rasa.core.agent import load_agent

    async def run():
        agent = await load_agent(model_path=str(MODEL))
        out = []
        for intent, text in _examples(TEST_SET):
            parsed = await agent.parse_message(text)
            out.append((intent, parsed["intent"]["name"], text))
        return out

    return asyncio.run(run())


def test_test_set_is_held_out():
    training = {text.lower() for path in TRAINING for _, text in _examples(path)}
    leaked = [text for _, text in _examples(TEST_SET) if text.lower() in training]
    assert not leaked
    counts = collections.Counter(intent for intent, _ in _examples(TEST_SET))
    assert min(counts.values()) >= 10


def test_intent_accuracy_and_every_danger_caught(predictions):
    per_intent = collections.defaultdict(lambda: [0, 0])
    for expected, got, _ in predictions:
        per_intent[expected][1] += 1
        per_intent[expected][0] += expected == got
    accuracy = sum(e == g for e, g, _ in predictions) / len(predictions)
    missed_danger = [(e, g) for e, g, _ in predictions if e in URGENT and g not in URGENT]

    lines = [
        "# NLU held-out report\n",
        f"Accuracy: {accuracy:.3f} on {len(predictions)} utterances; danger utterances missed: {len(missed_danger)}\n",
        "| intent | correct | total |",
        "|---|---|---|",
    ]
    lines += [f"| {i} | {c} | {t} |" for i, (c, t) in sorted(per_intent.items())]
    lines += ["", "Errors (expected -> predicted):", ""]
    lines += [f"- {e} -> {g}: {t}" for e, g, t in predictions if e != g]
    out = ROOT / "results" / "nlu_report.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert not missed_danger, missed_danger
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.3f} (see {out})"
