"""Cross-validation of the safety model on its training data only (never the held-out set).

    .venv/bin/python scripts/safety_cv.py [--folds 5] [--no-spacy]

Prints, per threshold, recall per critical kind and the false-alarm rate on `aucun`
messages: what FORCE and NET in bot/safety/decision.py were chosen from.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.danger import KINDS, scan, told_not_now  # noqa: E402
from bot.safety.model import NONE, SafetyModel  # noqa: E402
from bot.safety.training_data import all_examples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-spacy", action="store_true")
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    examples = all_examples(ROOT / "data")
    random.Random(7).shuffle(examples)
    parse = None
    docs_cache: dict[str, object] = {}
    if not args.no_spacy:
        import spacy

        nlp = spacy.load("fr_core_news_md")
        texts = [t for t, _ in examples]
        for text, doc in zip(texts, nlp.pipe([t.lower() for t in texts], batch_size=256), strict=True):
            docs_cache[text] = doc
        parse = docs_cache.__getitem__
    results: list[tuple[str, dict[str, float], list]] = []
    texts_by_id: dict[int, str] = {}
    calm: dict[int, bool] = {}
    for fold in range(args.folds):
        test = examples[fold :: args.folds]
        train = [e for i, e in enumerate(examples) if i % args.folds != fold]
        model = SafetyModel.train(train, parse=parse)
        probs = model.probabilities_many([t for t, _ in test], [parse(t) if parse else None for t, _ in test])
        results += [(label, p, scan(text)) for (text, label), p in zip(test, probs, strict=True)]
        calm.update({id(p): told_not_now(text) for (text, _), p in zip(test, probs, strict=True)})
        texts_by_id.update({id(p): text for (text, _), p in zip(test, probs, strict=True)})
    print(f"{len(examples)} examples, {args.folds} folds")
    det_fa = sum(1 for lab, p, s in results if lab == NONE and any(x.sure for x in s))
    det_hit = {k: sum(1 for lab, p, s in results if lab == k and any(x.sure for x in s)) for k in KINDS}
    print("detector alone: hits", det_hit, "false alarms", det_fa)
    if "--show" in sys.argv:
        for lab, p, s in results:
            if lab == NONE and any(x.sure for x in s):
                print("  DETECTOR FA", [x.rule for x in s if x.sure], texts_by_id.get(id(p), ""))
    import bot.safety.decision as decision

    def decide(p: dict[str, float], s: list, use_calm: bool) -> decision.SafetyDecision:
        return decision.decide(s, p, "x", [{"confidence": 1.0}], not_now=use_calm and calm[id(p)])

    grid = [(f, n, decision.VETO, True) for f in (0.55, 0.65, 0.75, 0.85) for n in (0.05, 0.1, 0.2)]
    grid += [(decision.FORCE, decision.NET, v, True) for v in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)]
    grid += [(decision.FORCE, decision.NET, decision.VETO, False)]  # a message told not now, ignored
    for force, net, veto, use_calm in grid:
        decision.FORCE, decision.NET, decision.NET_WHEN_UNSURE, decision.VETO = force, net, net, veto
        line = [f"FORCE={force} NET={net} VETO={veto}{'' if use_calm else ' not-now ignored'}:"]
        for kind in KINDS:
            rows = [(p, s) for lab, p, s in results if lab == kind]
            decisions = [decide(p, s, use_calm) for p, s in rows]
            hit = sum(1 for d in decisions if decision.NUMBERS_NEEDED[kind] <= decision.numbers_given(d))
            urgent = sum(1 for d in decisions if d.kind)
            line.append(f"{kind} {hit / len(rows):.3f} (answer {urgent / len(rows):.2f})")
        nones = [(p, s) for lab, p, s in results if lab == NONE]
        ds = [decide(p, s, use_calm) for p, s in nones]
        fa = sum(1 for d in ds if d.kind)
        lines = sum(1 for d in ds if not d.kind and d.net)
        line.append(f"false alarms {fa / len(nones):.1%}, line on {lines / len(nones):.1%}")
        print("  ".join(line))


if __name__ == "__main__":
    main()
