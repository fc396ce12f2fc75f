"""Load and validate the knowledge files (data/knowledge/*.yml).

Validation is strict on purpose: an answer whose facts have no official source
or no last-verified date must never reach a victim.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

RELIABILITIES = ("officiel", "secondaire", "a_verifier")
KINDS = ("mesure", "conversation")
REFERENCE_FILES = {"departements.yml", "territoires.yml"}
MAX_BUTTONS = 4
_PAYLOAD = re.compile(r"^/[a-z_]+$")


class KnowledgeError(ValueError):
    """Raised with every problem found, one per line."""


@dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True)
class Fact:
    text: str
    source: Source
    reliability: str
    last_verified: dt.date | None  # None: nobody has checked the page (reliability a_verifier)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Topic:
    id: str
    kind: str
    title: str
    answer: str
    buttons: tuple[Button, ...] = ()
    facts: tuple[Fact, ...] = ()
    file: str = ""


@dataclass
class KnowledgeBase:
    topics: dict[str, Topic] = field(default_factory=dict)

    def __getitem__(self, topic_id: str) -> Topic:
        return self.topics[topic_id]

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self.topics

    def payload_intents(self) -> set[str]:
        return {b.payload[1:] for t in self.topics.values() for b in t.buttons}


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def is_home_page(url: str) -> bool:
    """A site's front page (no path, or just « / »): not the page a fact was read on."""
    parsed = urlparse(url)
    return parsed.path in ("", "/") and not parsed.query


def parse_source(raw: Any, where: str, errors: list[str], reliability: Any = None) -> Source | None:
    if not isinstance(raw, dict) or not raw.get("title") or not raw.get("url"):
        errors.append(f"{where}: source manquante (title et url requis)")
        return None
    url = str(raw["url"])
    if not url.startswith("https://"):
        errors.append(f"{where}: l'url de la source doit commencer par https://")
    elif reliability == "officiel" and is_home_page(url):
        # An official fact must point at the article or page it was read on.
        errors.append(f"{where}: l'url d'un fait officiel doit être la page précise, pas l'accueil ({url})")
    return Source(str(raw["title"]), url)


def parse_verified(
    raw: Any, where: str, errors: list[str], today: dt.date, reliability: Any = None, present: bool = True
) -> dt.date | None:
    """The day someone read the source. Explicitly null only for a fact still « a_verifier »."""
    if present and raw is None and reliability == "a_verifier":
        return None
    verified = _date(raw)
    if verified is None:
        if present and raw is None:
            errors.append(f"{where}: last_verified vide : seul un fait « a_verifier » peut ne pas avoir été vérifié")
        else:
            errors.append(f"{where}: last_verified manquant ou invalide (AAAA-MM-JJ)")
    elif verified > today:
        errors.append(f"{where}: last_verified {verified} est dans le futur")
    return verified


def _parse_fact(raw: Any, where: str, errors: list[str], today: dt.date) -> Fact | None:
    if not isinstance(raw, dict) or not str(raw.get("text", "")).strip():
        errors.append(f"{where}: texte du fait manquant")
        return None
    reliability = raw.get("reliability")
    source = parse_source(raw.get("source"), where, errors, reliability)
    if reliability not in RELIABILITIES:
        errors.append(f"{where}: reliability doit être l'un de {', '.join(RELIABILITIES)}")
    verified = parse_verified(
        raw.get("last_verified"), where, errors, today, reliability, present="last_verified" in raw
    )
    if source is None or (verified is None and reliability != "a_verifier") or reliability not in RELIABILITIES:
        return None
    return Fact(str(raw["text"]).strip(), source, reliability, verified)


def _parse_topic(raw: Any, file: str, errors: list[str], today: dt.date) -> Topic | None:
    if not isinstance(raw, dict) or not raw.get("id"):
        errors.append(f"{file}: sujet sans id")
        return None
    where = f"{file}:{raw['id']}"
    kind = raw.get("kind")
    if kind not in KINDS:
        errors.append(f"{where}: kind doit être l'un de {', '.join(KINDS)}")
    answer = str(raw.get("answer") or "").strip()
    if not answer:
        errors.append(f"{where}: réponse vide")
    buttons = []
    for i, b in enumerate(raw.get("buttons") or []):
        if not isinstance(b, dict) or not b.get("title") or not _PAYLOAD.match(str(b.get("payload", ""))):
            errors.append(f"{where}: bouton {i + 1} invalide (title et payload '/intent' requis)")
            continue
        buttons.append(Button(str(b["title"]), str(b["payload"])))
    if len(buttons) > MAX_BUTTONS:
        errors.append(f"{where}: au plus {MAX_BUTTONS} boutons")
    facts = []
    for i, f in enumerate(raw.get("facts") or []):
        fact = _parse_fact(f, f"{where}: fait {i + 1}", errors, today)
        if fact:
            facts.append(fact)
    if kind == "mesure" and not (raw.get("facts") or []):
        errors.append(f"{where}: une mesure doit citer au moins un fait sourcé")
    return Topic(
        str(raw["id"]), str(kind), str(raw.get("title") or raw["id"]), answer, tuple(buttons), tuple(facts), file
    )


def load_knowledge(directory: Path, today: dt.date | None = None) -> KnowledgeBase:
    """Read every topic file in `directory`; raise KnowledgeError listing all problems."""
    today = today or dt.date.today()
    errors: list[str] = []
    kb = KnowledgeBase()
    files = sorted(p for p in Path(directory).glob("*.yml") if p.name not in REFERENCE_FILES)
    if not files:
        raise KnowledgeError(f"aucun fichier de connaissances dans {directory}")
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            errors.append(f"{path.name}: YAML invalide ({exc})")
            continue
        for raw in doc.get("topics") or []:
            topic = _parse_topic(raw, path.name, errors, today)
            if topic is None:
                continue
            if topic.id in kb.topics:
                errors.append(f"{path.name}:{topic.id}: id déjà défini dans {kb.topics[topic.id].file}")
            kb.topics[topic.id] = topic
    if errors:
        raise KnowledgeError("\n".join(errors))
    return kb
