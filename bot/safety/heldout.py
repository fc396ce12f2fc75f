"""Held-out sets of first messages (tests/nlu/heldout_*.yml): what counts as held out, and as right.

Shared by the report (scripts/nlu_report.py), its in-process guard (tests/test_heldout_safety.py)
and the retirement script (scripts/retire_heldout.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Intents answered by the same action as the expected one: the same reply, counted as right.
SAME_ANSWER = {"donner_lieu": "pack_territoire"}


def key(text: str) -> str:
    """A message as compared with training examples: spaces folded, lower case."""
    return " ".join(text.split()).lower()


def nlu_texts(paths: list[Path]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        for block in yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    out.add(key(line.strip()[2:]))
    return out


def training_texts(data_dir: Path) -> set[str]:
    """Every message the models train on: the safety corpus and the NLU examples."""
    texts: set[str] = set()
    for path in (data_dir / "safety").glob("*.yml"):
        for label in (yaml.safe_load(path.read_text(encoding="utf-8"))["examples"] or {}).values():
            texts |= {key(t) for t in label or []}
    return texts | nlu_texts(sorted((data_dir / "nlu").glob("*.yml")))


def load_set(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["messages"])


def held_out(messages: list[dict[str, Any]], training: set[str]) -> list[dict[str, Any]]:
    """The set minus any message that happens to equal a training example (short ones do:
    « bonjour », « je veux mourir »): those are not held out, and are left out of the figures."""
    return [m for m in messages if key(m["text"]) not in training]


def topic_of(parse: dict[str, Any]) -> str:
    name = str(parse["intent"]["name"])
    return SAME_ANSWER.get(name, name)
