"""The safety corpus (data/safety/*.yml): labelled messages, several authors, one file each."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from bot.safety.model import LABELS


class CorpusError(ValueError):
    pass


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.yml") if p.is_file())


def load_corpus(folder: Path) -> list[tuple[str, str]]:
    """(text, label) pairs from every file; duplicates (after trimming) kept once."""
    seen: dict[str, str] = {}
    for path in corpus_files(folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        examples = data.get("examples")
        if not isinstance(examples, dict):
            raise CorpusError(f"{path.name}: an `examples` mapping of label -> messages is expected")
        for label, texts in examples.items():
            if label not in LABELS:
                raise CorpusError(f"{path.name}: unknown label {label!r} (expected one of {', '.join(LABELS)})")
            for text in texts or []:
                if not isinstance(text, str) or not text.strip():
                    raise CorpusError(f"{path.name}: {label}: every example must be a non-empty string")
                key = " ".join(text.split()).lower()
                if key in seen and seen[key] != label:
                    raise CorpusError(f"{path.name}: the same message is labelled {seen[key]} and {label}")
                seen[key] = label
    return [(text, label) for text, label in seen.items()]


def corpus_fingerprint(folder: Path) -> str:
    """Changes whenever a corpus file changes: Rasa then retrains the safety model."""
    digest = hashlib.sha256()
    for path in corpus_files(folder):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
