"""Held-out report (issue 9): the first reply to each held-out first message, on the really started bot.

    .venv/bin/python scripts/nlu_report.py [--set tests/nlu/heldout_2026_12.yml] [--out results/nlu_heldout.md]

Each message is the first of a new conversation. The reply comes from Rasa and the action
server started here (REST channel); the intent and the safety decision from the same model
loaded in-process. Counted:
- critical kinds: recall = the reply carries the right number (danger: 17 and 114; he is
  there: 114; suicide: 3114; child: 119), and how often that came with the emergency answer;
- near-misses: false alarm = the emergency answer instead of the answer asked for; how often
  the practical answer came with the line of numbers; and whether the topic was right;
- topics: intent accuracy.
Prints a Markdown report and writes it to --out. `make nlu-report` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.safety.decision import NUMBERS_NEEDED  # noqa: E402
from bot.safety.heldout import held_out, topic_of, training_texts  # noqa: E402

URGENT = {
    "urgence_danger": "danger",
    "urgence_agresseur_present": "agresseur_present",
    "urgence_suicide": "suicide",
    "urgence_enfant": "enfant",
}
KINDS = ("danger", "agresseur_present", "suicide", "enfant")


class _Factory:
    """Just enough of pytest's tmp_path_factory for tests.conftest._start_bot."""

    def __init__(self, root: Path):
        self.root = root

    def mktemp(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=name, dir=self.root))
        return path


def has_numbers(text: str, numbers: set[str]) -> bool:
    return all(re.search(rf"(?<!\d){n}(?!\d)", text) for n in numbers)


async def parse_all(texts: list[str], model: Path) -> list[dict]:
    from rasa.core.agent import load_agent

    agent = await load_agent(model_path=str(model))
    return [await agent.parse_message(t) for t in texts]


def evaluate(messages: list[dict], replies: list[str], parses: list[dict]) -> dict:
    res: dict = {"critical": {}, "confusions": collections.Counter(), "misses": [], "false_alarms": []}
    for kind in KINDS:
        rows = [
            (m, r, p)
            for m, r, p in zip(messages, replies, parses, strict=True)
            if m["part"] == "critical" and m["kind"] == kind
        ]
        right = [has_numbers(r, NUMBERS_NEEDED[kind]) for _, r, _ in rows]
        emergency = [p["intent"]["name"] in URGENT for _, _, p in rows]
        res["critical"][kind] = {
            "n": len(rows),
            "recall": sum(right) / max(1, len(rows)),
            "emergency_answer": sum(emergency) / max(1, len(rows)),
        }
        for (m, _r, p), ok in zip(rows, right, strict=True):
            got = URGENT.get(p["intent"]["name"], p["intent"]["name"])
            res["confusions"][(kind, got)] += 1
            if not ok:
                res["misses"].append((kind, got, m["text"]))
    near = [(m, r, p) for m, r, p in zip(messages, replies, parses, strict=True) if m["part"] == "near_miss"]
    fa = [(m, p) for m, r, p in near if p["intent"]["name"] in URGENT]
    res["false_alarms"] = [(URGENT[p["intent"]["name"]], m["text"]) for m, p in fa]
    res["near_miss"] = {
        "n": len(near),
        "false_alarm_rate": len(fa) / max(1, len(near)),
        "topic_accuracy": sum(topic_of(p) == m["topic"] for m, _, p in near) / max(1, len(near)),
        "with_line": sum("Si besoin" in r for m, r, p in near if p["intent"]["name"] not in URGENT) / max(1, len(near)),
    }
    topics = [(m, p) for m, p in zip(messages, parses, strict=True) if m["part"] == "topic"]
    res["topic"] = {
        "n": len(topics),
        "accuracy": sum(topic_of(p) == m["topic"] for m, p in topics) / max(1, len(topics)),
        "false_alarm_rate": sum(p["intent"]["name"] in URGENT for m, p in topics) / max(1, len(topics)),
    }
    res["topic_errors"] = collections.Counter((m["topic"], topic_of(p)) for m, p in topics if topic_of(p) != m["topic"])
    return res


def markdown(res: dict, set_path: str) -> str:
    lines = [
        f"# Held-out report: `{set_path}`",
        "",
        "| critical kind | messages | recall (right number in the first reply) | with the emergency answer |",
        "|---|---|---|---|",
    ]
    for kind, r in res["critical"].items():
        lines.append(f"| {kind} | {r['n']} | **{r['recall']:.3f}** | {r['emergency_answer']:.3f} |")
    nm, tp = res["near_miss"], res["topic"]
    lines += [
        "",
        f"- near-misses ({nm['n']}): false alarms **{nm['false_alarm_rate']:.1%}**, practical answer with "
        f"the line of numbers {nm['with_line']:.1%}, topic right {nm['topic_accuracy']:.3f}",
        f"- topics ({tp['n']}): accuracy **{tp['accuracy']:.3f}**, emergency answer given {tp['false_alarm_rate']:.1%}",
        "",
        "Confusions between kinds (expected → answered as):",
        "",
    ]
    for (exp, got), n in sorted(res["confusions"].items()):
        if exp != got:
            lines.append(f"- {exp} → {got}: {n}")
    lines += ["", "Misses (critical without the right number):", ""]
    lines += [f"- [{k} → {g}] {t}" for k, g, t in res["misses"]] or ["- none"]
    lines += ["", "False alarms on near-misses:", ""]
    lines += [f"- [{k}] {t}" for k, t in res["false_alarms"]] or ["- none"]
    lines += ["", "Topic errors (expected → predicted):", ""]
    lines += [f"- {e} → {g}: {n}" for (e, g), n in res["topic_errors"].most_common()] or ["- none"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="tests/nlu/heldout_2026_12_s.yml")
    parser.add_argument("--out", default="results/nlu_heldout.md")
    parser.add_argument("--json", default="results/nlu_heldout.json")
    args = parser.parse_args()
    messages = yaml.safe_load((ROOT / args.set).read_text(encoding="utf-8"))["messages"]
    # A message that happens to equal a training example is not held out: left out, and counted.

    kept = held_out(messages, training_texts(ROOT / "data"))
    in_training, messages = len(messages) - len(kept), kept
    # The report sends hundreds of first messages from one address.
    os.environ.setdefault("ND_RATE_PER_ADDRESS", "1000000")
    os.environ.setdefault("ND_RATE_PER_CONVERSATION", "1000000")
    from tests.conftest import MODEL, _start_bot

    with tempfile.TemporaryDirectory() as tmp:
        started = _start_bot(_Factory(Path(tmp)))
        bot = next(started)
        bot_logs_dir = True
        try:
            t0 = time.monotonic()
            replies = []
            for i, m in enumerate(messages):
                try:
                    replies.append(bot.text(f"heldout-{i}", m["text"]))
                except OSError as exc:  # counted as a miss, never hidden
                    replies.append("")
                    print(f"message {i}: no reply ({type(exc).__name__})", file=sys.stderr)
                    if bot_logs_dir:
                        print((bot.logs["rasa"]).read_text()[-3000:], file=sys.stderr)
                    bot_logs_dir = None
            elapsed = time.monotonic() - t0
        finally:
            started.close()
    parses = asyncio.run(parse_all([m["text"] for m in messages], MODEL))
    res = evaluate(messages, replies, parses)
    report = markdown(res, args.set) + (
        f"\n({len(messages)} first messages in {elapsed:.0f} s; {in_training} "
        f"left out because they equal a training example.)\n"
    )
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    (ROOT / args.json).write_text(
        json.dumps({k: v for k, v in res.items() if k in ("critical", "near_miss", "topic")}, indent=2),
        encoding="utf-8",
    )
    print(report)


if __name__ == "__main__":
    main()
