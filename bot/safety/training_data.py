"""The safety model's examples outside Rasa: the corpus plus the NLU examples, as `rasa train` sees them.

Used by the cross-validation script; `rasa train` itself takes the NLU examples from Rasa.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.danger import KIND_FOR_INTENT, scan
from bot.safety.corpus import load_corpus
from bot.safety.model import NONE

_ENTITY = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")


def label_for_nlu_example(text: str, intent: str | None) -> str | None:
    """The safety label of an NLU example, or None to leave it out.

    A topic example in which the detector is sure of danger (« ma femme me bat » under
    homme_victime) is answered as an emergency anyway: it would only teach contradictions.
    """
    kind = KIND_FOR_INTENT.get(intent or "")
    if kind:
        return kind
    if any(s.sure for s in scan(text)):
        return None
    return NONE


def nlu_examples(folder: Path) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in sorted(Path(folder).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent")
            if not intent:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    text = _ENTITY.sub(lambda m: m.group(1) or m.group(2), line[2:].strip())
                    label = label_for_nlu_example(text, intent)
                    if label:
                        out.append((text, label))
    return out


def all_examples(data_dir: Path) -> list[tuple[str, str]]:
    return load_corpus(data_dir / "safety") + nlu_examples(data_dir / "nlu")
