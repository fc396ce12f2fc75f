"""Command line: python -m bot <command>."""
from __future__ import annotations

import argparse
import sys

from bot.config import settings
from bot.knowledge.loader import KnowledgeError


def check_knowledge() -> int:
    from bot.answers import build_answers

    try:
        answers = build_answers()
    except KnowledgeError as exc:
        print("Connaissances invalides :\n" + str(exc), file=sys.stderr)
        return 1
    # Render every topic once, so that an unknown placeholder fails here and not in front of a victim.
    for topic_id in answers.kb.topics:
        extra = {name: "x" for name in answers.placeholders_in(topic_id) if name not in answers.values}
        if extra and not topic_id.startswith("territoire_"):
            print(f"{topic_id}: placeholders inconnus {sorted(extra)}", file=sys.stderr)
            return 1
        answers.render(topic_id, **extra)
    kb = answers.kb
    facts = sum(len(t.facts) for t in kb.topics.values())
    print(f"{len(kb.topics)} sujets, {facts} faits sourcés, "
          f"{len(answers.territories.by_code)} territoires ({settings().knowledge_dir})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Nouveau départ")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-knowledge", help="valide les fichiers de connaissances")
    args = parser.parse_args(argv)
    if args.command == "check-knowledge":
        return check_knowledge()
    return 2


if __name__ == "__main__":
    sys.exit(main())
