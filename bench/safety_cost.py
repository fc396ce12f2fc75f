"""What the safety decision adds to a turn: detector + safety model, per message (issue 9).

    .venv/bin/python bench/safety_cost.py [model.tar.gz]

Runs on the retired held-out set A's first messages with the spaCy doc already made (Rasa's SpacyNLP makes
it anyway), and prints the median and 95th percentile in milliseconds, detector alone and
detector + model.
"""

from __future__ import annotations

import pickle  # noqa: F401  (the model file is a pickle written by `rasa train`)
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import spacy
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.danger import scan  # noqa: E402
from bot.safety.decision import decide  # noqa: E402
from bot.safety.model import SafetyModel  # noqa: E402


def main() -> None:
    archive = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models" / "nouveau-depart.tar.gz")
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("safety_model.pkl"))
            tar.extract(member, tmp)
        model = SafetyModel.loads((Path(tmp) / member.name).read_bytes())
    corpus = yaml.safe_load((ROOT / "data/safety/retired_heldout_2026_12.yml").read_text())["examples"]
    texts = [t for label in corpus.values() for t in label]
    nlp = spacy.load("fr_core_news_md")
    docs = [nlp(t.lower()) for t in texts]
    detector, both = [], []
    for _ in range(3):
        for text, doc in zip(texts, docs, strict=True):
            t0 = time.perf_counter()
            signals = scan(text)
            t1 = time.perf_counter()
            decide(signals, model.probabilities(text, doc), "x", [])
            t2 = time.perf_counter()
            detector.append((t1 - t0) * 1000)
            both.append((t2 - t0) * 1000)
    for name, values in (("detector", detector), ("detector + model", both)):
        values.sort()
        print(f"{name}: p50 {statistics.median(values):.2f} ms, p95 {values[int(len(values) * 0.95)]:.2f} ms")


if __name__ == "__main__":
    main()
