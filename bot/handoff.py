"""The handoff to a référent: the offer, the safe-contact questions, the case draft. Pure: no Rasa.

Wording comes from data/contact/contact.yml, response delays from bot.config. Nothing here
stores anything: bot.cases does, and only after her confirmation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from bot.answers import Reply
from bot.cases.model import CaseDraft, ContactPlan, priority_for
from bot.config import Settings, response_delays, settings
from bot.danger import KIND_FOR_INTENT
from bot.eligibility.loader import Questionnaire, load_questions
from bot.eligibility.questions import UNKNOWN, Answer, read_answer
from bot.eligibility.service import question_reply
from bot.knowledge.loader import Button, KnowledgeError

CONTACT_SLOTS = (
    "contact_canal",
    "contact_telephone",
    "contact_email",
    "contact_creneaux",
    "contact_message",
    "contact_code",
    "contact_prenom",
)
PHONE_CHANNELS = ("appel", "sms")
REQUIRED_TEXTS = {
    "proposition",
    "cree_sans_direct",
    "oui",
    "non",
    "refus",
    "confirmation",
    "confirmer",
    "corriger",
    "annuler",
    "message_oui",
    "message_non",
    "message_sans_objet",
    "aucun",
    "cree",
    "en_attente",
    "echec",
    "annulee",
    "rien_a_annuler",
    "abandon",
    "reprise",
    "incompris_reponse",
    "passer_possible",
    "passer",
    "arreter",
    "en_cours",
    "mis_a_jour",
    "retrait_reference",
    "retrait_reference_invalide",
    "retrait_code",
    "retrait_introuvable",
    "retrait_trop",
}


def danger_signals(user_intents: Iterable[str]) -> list[str]:
    """The detector kinds seen in the conversation, from its emergency intents."""
    return sorted({KIND_FOR_INTENT[i] for i in user_intents if i in KIND_FOR_INTENT})


@dataclass(frozen=True)
class Handoff:
    questionnaire: Questionnaire
    delays: Mapping[str, tuple[int, str]]  # priority -> (hours, how it is said)
    channels: Mapping[str, str]  # channel -> « par SMS »…

    @property
    def texts(self) -> Mapping[str, str]:
        return self.questionnaire.texts

    # -- the offer -------------------------------------------------------------
    def proposal(self, signals: list[str]) -> Reply:
        delay = self.delays[priority_for(signals)][1]
        return Reply(
            self.texts["proposition"].format(delai=delay),
            (Button(self.texts["oui"], "/consentir_contact"), Button(self.texts["non"], "/nier")),
        )

    # -- the safe-contact plan -------------------------------------------------
    def needed(self, slots: Mapping[str, Any]) -> list[str]:
        channel = slots.get("contact_canal")
        needs = {
            "contact_canal": True,
            "contact_telephone": channel in PHONE_CHANNELS,
            "contact_email": channel == "email",
            "contact_creneaux": channel in PHONE_CHANNELS,
            "contact_message": channel in PHONE_CHANNELS,
            "contact_code": True,
            "contact_prenom": True,
        }
        return [q for q in CONTACT_SLOTS if needs[q]]

    def ask(self, question_id: str, failures: int = 0, resumed: bool = False) -> Reply:
        return question_reply(self.questionnaire[question_id], self.texts, failures, resumed)

    def read(self, question_id: str, text: str, slots: Mapping[str, Any]) -> Answer:
        answer = read_answer(self.questionnaire[question_id], text, None, dt.date.today())  # type: ignore[arg-type]
        if (
            question_id == "contact_telephone"
            and answer.status == "ok"
            and slots.get("contact_canal") == "sms"
            and not answer.value["mobile"]
        ):
            return Answer("invalid")  # an SMS needs a mobile: asked again, the example says so
        return answer

    def plan(self, slots: Mapping[str, Any]) -> ContactPlan:
        channel = slots.get("contact_canal")
        address = None
        if channel in PHONE_CHANNELS and isinstance(slots.get("contact_telephone"), dict):
            address = slots["contact_telephone"]["e164"]
        elif channel == "email" and slots.get("contact_email") not in (None, UNKNOWN):
            address = slots["contact_email"]
        if channel not in ("appel", "sms", "email") or address is None:
            channel, address = "ici", None  # no way to reach her elsewhere: the référent answers here
        windows = slots.get("contact_creneaux")
        labels = {o.id: o.label for o in self.questionnaire["contact_creneaux"].options}
        return ContactPlan.validated(
            channel,
            address,
            time_windows=[labels[w] for w in windows] if isinstance(windows, list) else [],
            may_leave_message=slots.get("contact_message") == "oui",
            code_word=_optional(slots.get("contact_code")),
            first_name=_optional(slots.get("contact_prenom")),
        )

    def confirmation(self, slots: Mapping[str, Any]) -> Reply:
        plan = self.plan(slots)
        none = self.texts["aucun"]
        message = (
            self.texts["message_sans_objet"]
            if plan.channel not in PHONE_CHANNELS
            else self.texts["message_oui"]
            if plan.may_leave_message
            else self.texts["message_non"]
        )
        text = self.texts["confirmation"].format(
            canal=self.channels[plan.channel],
            adresse=f" ({plan.address})" if plan.address else "",
            creneaux=", ".join(plan.time_windows) or none,
            message=message,
            code=plan.code_word or none,
            prenom=plan.first_name or none,
        )
        return Reply(
            text,
            (
                Button(self.texts["confirmer"], "/confirmer_contact"),
                Button(self.texts["corriger"], "/parler_humain"),
                Button(self.texts["annuler"], "/nier"),
            ),
        )

    def draft(
        self,
        conversation_id: str,
        channel: str,
        slots: Mapping[str, Any],
        *,
        territory: str | None,
        measures: list[str],
        signals: list[str],
        eligibility: dict[str, Any],
    ) -> CaseDraft:
        return CaseDraft(
            conversation_id=conversation_id,
            channel=channel,
            contact=self.plan(slots),
            territory=territory,
            measures=measures,
            danger_signals=signals,
            eligibility=eligibility,
        )

    # -- after creation ----------------------------------------------------------
    def created(
        self,
        reference: str,
        pending: bool,
        signals: list[str],
        slots: Mapping[str, Any],
        updated: bool = False,
        channel: str | None = None,
        reachable_here: bool = True,
    ) -> Reply:
        """What she is told once her request is kept: `updated` when it replaced the plan of her open case.
        `channel`: the plan's channel when the slots were already emptied (a slow write).
        `reachable_here`: whether a référent's words can be pushed to this conversation (not over REST)."""
        delay = self.delays[priority_for(signals)][1]
        if pending:
            return Reply(self.texts["en_attente"].format(reference=reference, delai=delay))
        channel = channel or self.plan(slots).channel
        if channel == "ici" and not reachable_here:
            # Never « on vous recontacte ici » where nothing can carry a référent's words to her.
            return Reply(self.texts["cree_sans_direct"].format(reference=reference))
        if updated:
            return Reply(
                self.texts["mis_a_jour"].format(reference=reference, delai=delay, canal=self.channels[channel])
            )
        return Reply(self.texts["cree"].format(reference=reference, delai=delay, canal=self.channels[channel]))

    def text(self, text_id: str) -> Reply:
        return Reply(self.texts[text_id])


def _optional(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != UNKNOWN else None


def load_handoff(path: Path) -> Handoff:
    questionnaire = load_questions(path, REQUIRED_TEXTS)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if set(questionnaire.ids) != set(CONTACT_SLOTS):
        raise KnowledgeError(f"{path}: questions attendues {CONTACT_SLOTS}")
    # Delays come from the deployment's configuration (bot.config), not from promises in data.
    delays = {p: (d.hours, d.text) for p, d in response_delays().items()}
    if set(doc["canaux"]) != {"appel", "sms", "email", "ici"}:
        raise KnowledgeError(f"{path}: canaux (appel, sms, email, ici) requis")
    return Handoff(questionnaire, delays, dict(doc["canaux"]))


def build_handoff(config: Settings | None = None) -> Handoff:
    config = config or settings()
    return load_handoff(config.data_dir / "contact" / "contact.yml")


@lru_cache(maxsize=1)
def default_handoff() -> Handoff:
    return build_handoff()
