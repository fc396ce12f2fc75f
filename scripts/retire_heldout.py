"""Retire a held-out set into training once its misses have been learned from (issue 9).

    .venv/bin/python scripts/retire_heldout.py tests/nlu/heldout_2026_12_b.yml

Writes data/safety/retired_<name>.yml (critical messages under their kind, near-misses and
topics as `aucun`) and data/nlu/retired_<name>.yml (near-misses and topics under their
topic intent, leaving out what already stands in data/nlu or tests/nlu/test_nlu.yml), then
removes the set from tests/nlu/. Write and commit a new set, the same way, before training.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.safety.heldout import key, nlu_texts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LABELS = ("danger", "agresseur_present", "suicide", "enfant", "aucun")
# Gift or loan, repaying: the auu_montant answer is the one that explains it, whatever label
# an author chose (authors have put these under auu_conditions or auu_info).
GIFT_OR_LOAN = re.compile(r"pr[eê]t\b|rembours|rendre l'argent|\bdon\b", re.IGNORECASE)


def training_intent(topic: str, text: str) -> str:
    return "auu_montant" if topic in ("auu_conditions", "auu_info") and GIFT_OR_LOAN.search(text) else topic


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(set_path: str) -> None:
    path = ROOT / set_path
    name = path.stem
    messages = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    safety: dict[str, list[str]] = collections.defaultdict(list)
    nlu: dict[str, list[str]] = collections.defaultdict(list)
    known = nlu_texts(sorted((ROOT / "data" / "nlu").glob("*.yml")) + [ROOT / "tests" / "nlu" / "test_nlu.yml"])
    for m in messages:
        text = " ".join(m["text"].split())
        if m["part"] == "critical":
            safety[m["kind"]].append(text)
            continue
        safety["aucun"].append(text)
        if key(text) not in known and m.get("topic"):
            nlu[training_intent(m["topic"], text)].append(text)
            known.add(key(text))
    out = ROOT / "data" / "safety" / f"retired_{name}.yml"
    with out.open("w", encoding="utf-8") as f:
        f.write(
            f"# Held-out set {path.name}, retired into training after its misses were learned from (issue 9).\n"
            "# Near-misses and topics are `aucun` here.\n"
            f'version: 1\nauthor: "{path.name}, retired"\nexamples:\n'
        )
        for label in LABELS:
            f.write(f"  {label}:\n" + "".join(f"    - {_quote(t)}\n" for t in safety[label]))
    nlu_out = ROOT / "data" / "nlu" / f"retired_{name}.yml"
    with nlu_out.open("w", encoding="utf-8") as f:
        f.write(
            f'version: "3.1"\n# Topic and near-miss first messages of {path.name}, retired into training (issue 9).\n'
            "nlu:\n"
        )
        for intent in sorted(nlu):
            f.write(f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in nlu[intent]))
    yaml.safe_load(out.read_text(encoding="utf-8"))
    yaml.safe_load(nlu_out.read_text(encoding="utf-8"))
    path.unlink()
    print(
        f"{out.relative_to(ROOT)}: {sum(map(len, safety.values()))} messages; "
        f"{nlu_out.relative_to(ROOT)}: {sum(map(len, nlu.values()))} examples; {set_path} removed"
    )


if __name__ == "__main__":
    main(sys.argv[1])
