"""What the assistant answers, composed from the knowledge base. Pure: no Rasa.

Actions call these functions with what they read from the tracker and send
back the replies; every sentence comes from data/knowledge.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache

from bot.config import Settings, settings
from bot.knowledge.amounts import load_bareme, placeholders
from bot.knowledge.loader import Button, KnowledgeBase, KnowledgeError, load_knowledge
from bot.knowledge.territory import (ABSENT, ACTIVE, ANNOUNCED, OUT_OF_SCOPE, Departement,
                                     Territories, load_territories)

# Intents answered by the topic of the same name.
TOPIC_INTENTS = {
    "info_pack", "auu_info", "auu_conditions", "auu_montant", "auu_demarche", "garde_enfants",
    "emploi_formation", "hebergement_urgence", "logement_durable", "soutien_psy", "plainte",
    "protection", "qualifier_violence", "aider_proche", "homme_victime", "confidentialite",
    "parler_humain", "saluer", "remercier", "au_revoir", "affirmer", "nier", "menu",
}
NOT_UNDERSTOOD_INTENTS = {"nlu_fallback", "hors_sujet"}
# While a question waits for an answer, these say nothing new: the question is asked again.
NOT_AN_ANSWER_INTENTS = NOT_UNDERSTOOD_INTENTS | {"menu", "affirmer", "nier", "saluer"}
QUESTION_LIEU = "lieu"
# After this many unrecognised answers, the question is explained and may be skipped.
MAX_FAILED_ANSWERS = 2


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

    def as_rasa(self) -> dict:
        return {"text": self.text,
                "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons]}


class _Values(dict):
    def __missing__(self, key: str) -> str:
        raise KnowledgeError(f"placeholder inconnu {{{key}}}")


class Answers:
    """The knowledge base plus the data its placeholders need."""

    def __init__(self, kb: KnowledgeBase, territories: Territories, values: dict[str, str]):
        self.kb = kb
        self.territories = territories
        self.values = _Values(values)

    def render(self, topic_id: str, **extra: str) -> Reply:
        topic = self.kb[topic_id]
        values = _Values({**self.values, **extra})
        return Reply(topic.answer.format_map(values), topic.buttons)

    def placeholders_in(self, topic_id: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.kb[topic_id].answer) if name}

    # -- conversation steps ----------------------------------------------
    def for_intent(self, intent: str, first_turn: bool) -> list[Reply]:
        topic = intent if intent in TOPIC_INTENTS else "menu"
        return self.with_discretion([self.render(topic)], first_turn)

    def not_understood(self, times_in_a_row: int, first_turn: bool) -> list[Reply]:
        topic = "incompris" if times_in_a_row < MAX_FAILED_ANSWERS else "incompris_repete"
        return self.with_discretion([self.render(topic)], first_turn)

    def ask_place(self, failed_answers: int, first_turn: bool = False) -> list[Reply]:
        if failed_answers == 0:
            topic = "question_lieu"
        elif failed_answers < MAX_FAILED_ANSWERS:
            topic = "question_lieu_exemple"
        else:
            topic = "question_lieu_explication"
        return self.with_discretion([self.render(topic)], first_turn)

    def territory(self, departement: Departement | None, first_turn: bool) -> list[Reply]:
        if departement is None:
            actifs = ", ".join(d.label for d in self.territories.active())
            return self.with_discretion([self.render("territoire_inconnu", liste_actifs=actifs)], first_turn)
        status = self.territories.pack_status(departement)
        if status.statut == ACTIVE and status.entry:
            reply = self.render("territoire_actif", departement_nom=departement.label,
                                depuis=status.entry.depuis_texte, coordination=status.entry.coordination)
        elif status.statut == ANNOUNCED:
            reply = self.render("territoire_annonce", departement_nom=departement.label)
        elif status.statut == OUT_OF_SCOPE:
            reply = self.render("territoire_hors_champ", departement_nom=departement.label)
        else:
            assert status.statut == ABSENT
            reply = self.render("territoire_absent", departement_nom=departement.label)
        return self.with_discretion([reply], first_turn)

    def skipped(self, first_turn: bool) -> list[Reply]:
        return self.with_discretion([self.render("refuser_repondre")], first_turn)

    def erased(self) -> list[Reply]:
        return [self.render("effacer_confirmation")]

    def with_discretion(self, replies: list[Reply], first_turn: bool) -> list[Reply]:
        # The very first answer says, in one line, how to leave fast and erase.
        return replies + [self.render("discretion")] if first_turn else replies


def build_answers(config: Settings | None = None) -> Answers:
    config = config or settings()
    kb = load_knowledge(config.knowledge_dir)
    territories = load_territories(config.knowledge_dir)
    values = placeholders(load_bareme(config.eligibility_dir / "auu_bareme.yml"))
    values["conversation_ttl_minutes"] = str(config.conversation_ttl_minutes)
    return Answers(kb, territories, values)


@lru_cache(maxsize=1)
def default_answers() -> Answers:
    return build_answers()
