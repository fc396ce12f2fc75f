"""Tone, everywhere she reads us: the knowledge answers, the handoff wording, the
eligibility results and questions, and the domain's own responses.

Vouvoiement, no pressure to file a complaint, no mediation, no promise of an
amount or of a decision.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
import yaml

from bot.config import PROJECT_ROOT, settings

DATA = settings().data_dir
FORBIDDEN = {
    "tutoiement": r"\b(tu|ton|ta|tes|toi)\b",
    "pression à porter plainte": r"(il faut|vous devez|devez absolument|obligatoire de) porter plainte",
    "médiation ou thérapie de couple": r"m[ée]diation|th[ée]rapie de couple",
    "culpabilisation": r"pourquoi ne partez|qu'avez-vous fait pour|[êe]tes-vous s[ûu]re",
    "vocabulaire": r"femme battue|\bdispute\b",
    "promesse de montant": r"vous (recevrez|toucherez|aurez droit [àa]) \d|montant garanti|vous aurez \d",
    "promesse de décision": r"(votre|la) demande sera accept[ée]e|vous [êe]tes [ée]ligible\b|c'est accord[ée]",
    "fausse promesse d'anonymat": r"100 ?% anonyme|totalement anonyme",
    "délai sans source": r"dans l'heure|sous 72 ?h",
}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            # sources, synonyms and identifiers are not what she reads
            if key in ("source", "sources", "url", "synonymes", "id", "payload"):
                continue
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _texts() -> Iterator[tuple[str, str]]:
    for path in sorted((DATA / "knowledge").glob("*.yml")):
        if path.name in ("departements.yml",):
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for topic in doc.get("topics") or []:
            yield f"{path.name}:{topic['id']}", topic["answer"]
            for b in topic.get("buttons") or []:
                yield f"{path.name}:{topic['id']}:bouton", b["title"]
        for entry in doc.get("departements") or []:
            for key in ("depuis_texte", "coordination", "etat"):
                if entry.get(key):
                    yield f"{path.name}:{entry['code']}:{key}", entry[key]
        for entry in doc.get("hors_champ") or []:
            yield f"{path.name}:{entry['code']}:numeros", entry["numeros"]
    for path in (
        DATA / "contact" / "contact.yml",
        DATA / "eligibility" / "regles.yml",
        DATA / "eligibility" / "questions.yml",
    ):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in ("textes", "mesures", "questions", "resultats", "canaux"):
            for i, text in enumerate(_strings(doc.get(key))):
                yield f"{path.name}:{key}:{i}", text
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variants in domain["responses"].items():
        for v in variants:
            yield f"domain.yml:{name}", v.get("text", "")
            for b in v.get("buttons") or []:
                yield f"domain.yml:{name}:bouton", b["title"]


TEXTS = list(_texts())


def test_every_source_of_wording_is_read():
    sources = {where.split(":")[0] for where, _ in TEXTS}
    assert {
        "contact.yml",
        "regles.yml",
        "questions.yml",
        "domain.yml",
        "conversation.yml",
        "aide_universelle_urgence.yml",
        "territoires.yml",
    } <= sources
    assert len(TEXTS) > 300


@pytest.mark.parametrize("rule", sorted(FORBIDDEN))
def test_tone(rule):
    pattern = re.compile(FORBIDDEN[rule], re.IGNORECASE)
    bad = [(where, pattern.search(text).group(0)) for where, text in TEXTS if pattern.search(text)]
    assert not bad, bad


def test_the_patterns_do_catch_what_they_forbid():
    samples = {
        "tutoiement": "Tu peux appeler le 3919.",
        "pression à porter plainte": "Vous devez porter plainte.",
        "médiation ou thérapie de couple": "Une médiation familiale peut aider.",
        "promesse de montant": "Vous recevrez 600 €.",
        "promesse de décision": "Votre demande sera acceptée.",
        "délai sans source": "La CAF vous contacte sous 72 h.",
    }
    for rule, sample in samples.items():
        assert re.search(FORBIDDEN[rule], sample, re.IGNORECASE), rule


def test_amounts_are_always_estimates():
    # Every sentence that shows an amount says it is approximate and that the CAF decides.
    for where, text in TEXTS:
        if "{min}" in text or "{montant}" in text or "{auu_seul_min}" in text:
            assert "environ" in text and "CAF" in text, where
