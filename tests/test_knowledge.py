"""Knowledge files: loading, strict validation, tone, and the emergency numbers."""

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.answers import TOPIC_INTENTS, build_answers
from bot.config import PROJECT_ROOT, settings
from bot.knowledge.loader import KnowledgeError, load_knowledge

KNOWLEDGE = settings().knowledge_dir
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def answers():
    return build_answers(clock=lambda: dt.date(2026, 12, 1))


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


def _edit(path: Path, fn) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_every_answered_intent_has_a_topic(answers):
    assert TOPIC_INTENTS <= set(answers.kb.topics)


def test_measures_cite_dated_sources(answers):
    for topic in answers.kb.topics.values():
        if topic.kind == "mesure":
            assert topic.facts, topic.id
            # A fact nobody has checked says so: no date, reliability « a_verifier ».
            assert all(
                f.source.url.startswith("https://") and (f.last_verified or f.reliability == "a_verifier")
                for f in topic.facts
            ), topic.id


def test_missing_source_is_refused(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "aide_universelle_urgence.yml", lambda doc: doc["topics"][0]["facts"][0].pop("source"))
    with pytest.raises(KnowledgeError, match="source manquante"):
        load_knowledge(d)


def test_missing_or_future_date_is_refused(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "mesures.yml", lambda doc: doc["topics"][0]["facts"][0].pop("last_verified"))
    with pytest.raises(KnowledgeError, match="last_verified"):
        load_knowledge(d)
    with pytest.raises(KnowledgeError, match="futur"):
        load_knowledge(KNOWLEDGE, today=dt.date(2020, 1, 1))


def test_measure_without_facts_is_refused(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "mesures.yml", lambda doc: doc["topics"][0].pop("facts"))
    with pytest.raises(KnowledgeError, match="au moins un fait"):
        load_knowledge(d)


def test_buttons_point_to_known_intents(answers):
    assert answers.kb.payload_intents() <= set(DOMAIN["intents"])


def test_every_topic_renders_and_amounts_come_from_data(answers):
    extra = {
        "departement_nom": "X",
        "depuis": "X",
        "coordination": "X",
        "liste_actifs": "X",
        "etat": "X",
        "liste_mise_en_place": "X",
        "numeros_locaux": "X",
        "choix": "X",
        "retention_days": "30",
    }
    for topic_id in answers.kb.topics:
        answers.render(topic_id, **extra)
    montant = answers.render("auu_montant").text
    assert "avril 2026 à mars 2027" in montant and "261" in montant and "652" in montant and "CAF" in montant
    raw = answers.kb["auu_montant"].answer
    assert not re.search(r"\d{3}\s?€", raw), "amounts are written by hand in auu_montant"


FORBIDDEN = [
    r"pourquoi ne partez",
    r"m[ée]diation",
    r"th[ée]rapie de couple",
    r"femme battue",
    r"il faut porter plainte",
    r"vous devez porter plainte",
    r"100 ?% anonyme",
    r"\btu\b",
    r"\bton\b",
    r"\btes\b",
    r"\btoi\b",
]


def test_tone_rules(answers):
    for topic in answers.kb.topics.values():
        for pattern in FORBIDDEN:
            assert not re.search(pattern, topic.answer, re.IGNORECASE), (topic.id, pattern)
    for topic_id in ("qualifier_violence", "plainte", "homme_victime"):
        assert "je vous crois" in answers.kb[topic_id].answer.lower()


def test_emergency_responses_use_the_documented_numbers(answers):
    documented = " ".join(f.text for f in answers.kb["numeros_utiles"].facts)
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            for number in re.findall(r"\b(1[0-9]{1,2}|3114|3919)\b", variant["text"]):
                assert number in documented, (name, number)
    assert "114" in DOMAIN["responses"]["utter_urgence_agresseur_present"][0]["text"]
    assert "3114" in DOMAIN["responses"]["utter_urgence_suicide"][0]["text"]
    assert "119" in DOMAIN["responses"]["utter_urgence_enfant"][0]["text"]
