"""What the assistant answers, composed from the knowledge base. Pure: no Rasa.

Actions call these functions with what they read from the tracker and send
back the replies; every sentence comes from data/knowledge.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from bot.cases.config import retention_days
from bot.config import Settings, settings
from bot.knowledge.amounts import bareme_warnings, load_bareme, placeholders
from bot.knowledge.loader import Button, KnowledgeBase, KnowledgeError, load_knowledge
from bot.knowledge.territory import (
    ABSENT,
    ACTIVE,
    ANNOUNCED,
    OUT_OF_SCOPE,
    SETTING_UP,
    Departement,
    Territories,
    load_territories,
)

# Intents answered by the topic of the same name.
TOPIC_INTENTS = {
    "info_pack",
    "auu_info",
    "auu_conditions",
    "auu_montant",
    "auu_demarche",
    "garde_enfants",
    "emploi_formation",
    "hebergement_urgence",
    "logement_durable",
    "soutien_psy",
    "plainte",
    "protection",
    "qualifier_violence",
    "aider_proche",
    "homme_victime",
    "confidentialite",
    "parler_humain",
    "saluer",
    "remercier",
    "au_revoir",
    "affirmer",
    "nier",
    "menu",
}
NOT_UNDERSTOOD_INTENTS = {"nlu_fallback", "hors_sujet"}
# While a question waits for an answer, these say nothing new: the question is asked again.
NOT_AN_ANSWER_INTENTS = NOT_UNDERSTOOD_INTENTS | {"menu", "affirmer", "nier", "saluer"}
QUESTION_LIEU = "lieu"
# Answers about the AUU that change where it is not the CAF's national table.
AUU_INTENTS = {"auu_info", "auu_conditions", "auu_montant", "auu_demarche"}
# The input channel whose page has the « Sortie rapide » button (the web widget).
WEB_WIDGET_CHANNEL = "socketio"
PLACE_PAYLOAD = "/donner_lieu"
# Topics whose placeholders code fills at answer time (place, local numbers…), besides territoire_*.
TEMPLATE_TOPICS = {"auu_hors_champ", "question_lieu_ambigu", "confidentialite_dossier"}


def is_template(topic_id: str) -> bool:
    return topic_id.startswith("territoire_") or topic_id in TEMPLATE_TOPICS


def knowledge_warnings(config: Settings | None = None, today: dt.date | None = None) -> list[str]:
    """What `check-knowledge` reports without failing: an expired barème, unconfirmed values."""
    config = config or settings()
    return bareme_warnings(config.eligibility_dir / "auu_bareme.yml", today or dt.date.today())


def discretion_topic(channel: str | None) -> str:
    """The discretion line of this channel: only the web widget has a quick-exit button."""
    if channel == WEB_WIDGET_CHANNEL:
        return "discretion"
    if channel == "telegram":
        return "discretion_telegram"
    return "discretion_texte"


def place_payload(code: str) -> str:
    """A button that answers « where » with one département (read by action_territoire)."""
    return PLACE_PAYLOAD + json.dumps({"departement": code})


# After this many unrecognised answers, the question is explained and may be skipped.
MAX_FAILED_ANSWERS = 2


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

    def as_rasa(self) -> dict:
        return {"text": self.text, "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons]}


class _Values(dict):
    def __missing__(self, key: str) -> str:
        raise KnowledgeError(f"placeholder inconnu {{{key}}}")


class Answers:
    """The knowledge base plus the data its placeholders need."""

    def __init__(
        self,
        kb: KnowledgeBase,
        territories: Territories,
        values: dict[str, str],
        amounts: Callable[[], dict[str, str]] | None = None,
    ):
        self.kb = kb
        self.territories = territories
        self.values = _Values(values)
        # The barème's values for today, asked at each answer (the period changes on 1 April).
        self.amounts = amounts

    def render(self, topic_id: str, **extra: str) -> Reply:
        topic = self.kb[topic_id]
        values = _Values({**self.values, **(self.amounts() if self.amounts else {}), **extra})
        return Reply(topic.answer.format_map(values), topic.buttons)

    def placeholders_in(self, topic_id: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.kb[topic_id].answer) if name}

    # -- conversation steps ----------------------------------------------
    def for_intent(
        self,
        intent: str,
        first_turn: bool,
        channel: str | None = None,
        departement: str | None = None,
        has_case: bool = False,
    ) -> list[Reply]:
        topic = intent if intent in TOPIC_INTENTS else "menu"
        if topic in AUU_INTENTS and departement:
            replies = self.auu_where(departement)
            if replies:
                return self.with_discretion(replies, first_turn, channel)
        if topic == "confidentialite":
            return self.with_discretion(self.privacy(has_case), first_turn, channel)
        return self.with_discretion([self.render(topic)], first_turn, channel)

    def auu_where(self, code: str) -> list[Reply] | None:
        """Mayotte (CSSM, own barème) and the collectivities without the AUU: never the national amounts."""
        dep = self.territories.by_code.get(code)
        if dep is None:
            return None
        if code in self.territories.cssm:
            return [self.render("auu_mayotte")]
        if code in self.territories.local_help:
            return [
                self.render(
                    "auu_hors_champ",
                    departement_nom=dep.label,
                    numeros_locaux=self.territories.local_help[code].numeros,
                )
            ]
        return None

    def privacy(self, has_case: bool) -> list[Reply]:
        """What is kept: the conversation; and, once she has asked to be contacted, her case."""
        replies = [self.render("confidentialite")]
        if has_case:
            replies.append(self.render("confidentialite_dossier", retention_days=str(retention_days())))
        return replies

    def not_understood(self, times_in_a_row: int, first_turn: bool, channel: str | None = None) -> list[Reply]:
        topic = "incompris" if times_in_a_row < MAX_FAILED_ANSWERS else "incompris_repete"
        return self.with_discretion([self.render(topic)], first_turn, channel)

    def which_place(
        self, candidates: Sequence[Departement], first_turn: bool = False, channel: str | None = None
    ) -> list[Reply]:
        """A shared name (« Saint-Denis »): a short question, one button per candidate."""
        labels = [d.label for d in candidates]
        choix = ", ".join(labels[:-1]) + " ou " + labels[-1]
        reply = self.render("question_lieu_ambigu", choix=choix)
        buttons = tuple(Button(d.label, place_payload(d.code)) for d in candidates[:3]) + reply.buttons
        return self.with_discretion([Reply(reply.text, buttons)], first_turn, channel)

    def ask_place(self, failed_answers: int, first_turn: bool = False, channel: str | None = None) -> list[Reply]:
        if failed_answers == 0:
            topic = "question_lieu"
        elif failed_answers < MAX_FAILED_ANSWERS:
            topic = "question_lieu_exemple"
        else:
            topic = "question_lieu_explication"
        return self.with_discretion([self.render(topic)], first_turn, channel)

    def territory(self, departement: Departement | None, first_turn: bool, channel: str | None = None) -> list[Reply]:
        if departement is None:
            actifs = ", ".join(d.label for d in self.territories.active())
            en_place = ", ".join(d.label for d in self.territories.setting_up())
            return self.with_discretion(
                [self.render("territoire_inconnu", liste_actifs=actifs, liste_mise_en_place=en_place)],
                first_turn,
                channel,
            )
        status = self.territories.pack_status(departement)
        if status.statut == ACTIVE and status.entry:
            reply = self.render(
                "territoire_actif",
                departement_nom=departement.label,
                depuis=status.entry.depuis_texte,
                coordination=status.entry.coordination,
            )
        elif status.statut == SETTING_UP and status.entry:
            reply = self.render("territoire_mise_en_place", departement_nom=departement.label, etat=status.entry.etat)
        elif status.statut == ANNOUNCED:
            reply = self.render("territoire_annonce", departement_nom=departement.label)
        elif status.statut == OUT_OF_SCOPE:
            reply = self.render(
                "territoire_hors_champ",
                departement_nom=departement.label,
                numeros_locaux=self.territories.local_help[departement.code].numeros,
            )
        else:
            assert status.statut == ABSENT
            topic = "territoire_absent_mayotte" if departement.code in self.territories.cssm else "territoire_absent"
            reply = self.render(topic, departement_nom=departement.label)
        return self.with_discretion([reply], first_turn, channel)

    def skipped(self, first_turn: bool, channel: str | None = None) -> list[Reply]:
        return self.with_discretion([self.render("refuser_repondre")], first_turn, channel)

    def erased(self) -> list[Reply]:
        return [self.render("effacer_confirmation")]

    def with_discretion(self, replies: list[Reply], first_turn: bool, channel: str | None = None) -> list[Reply]:
        # The very first answer says, in one line, how to erase, and on the web widget how to leave fast.
        return replies + [self.render(discretion_topic(channel))] if first_turn else replies


def build_answers(config: Settings | None = None, clock: Callable[[], dt.date] = dt.date.today) -> Answers:
    """`clock` gives the reference date of the barème at each answer; tests pass a fixed one."""
    config = config or settings()
    kb = load_knowledge(config.knowledge_dir)
    territories = load_territories(config.knowledge_dir)
    bareme_path = config.eligibility_dir / "auu_bareme.yml"

    def amounts() -> dict[str, str]:
        return placeholders(load_bareme(bareme_path, clock()))

    values = amounts()
    values["conversation_ttl_minutes"] = str(config.conversation_ttl_minutes)
    return Answers(kb, territories, values, amounts)


@lru_cache(maxsize=1)
def default_answers() -> Answers:
    return build_answers()
