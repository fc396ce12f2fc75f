"""Which questions a request needs, and what an answer means.

Answers travel in the conversation's slots as plain JSON values (see
`Situation.from_slots`); `UNKNOWN` marks a question she skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from bot.eligibility.loader import MEASURES, Question, Questionnaire, RuleSet
from bot.eligibility.parsers import (
    Amount,
    Children,
    DateRange,
    is_skip,
    parse_amount,
    parse_children,
    parse_choice,
    parse_choices,
    parse_date,
    parse_short_text,
)
from bot.knowledge.territory import Territories
from bot.text import normalize

UNKNOWN = "inconnu"

# A topic she was reading says which measure she means by « est-ce que j'y ai droit ? ».
MEASURE_FOR_INTENT = {
    "auu_info": "auu",
    "auu_conditions": "auu",
    "auu_montant": "auu",
    "auu_demarche": "auu",
    "info_pack": "pack",
    "pack_territoire": "pack",
    "garde_enfants": "garde",
    "emploi_formation": "emploi",
    "hebergement_urgence": "hebergement_urgence",
    "logement_durable": "logement",
    "soutien_psy": "psy",
}
_MEASURE_WORDS = {
    "auu": (
        "aide universelle",
        "aide d urgence",
        "auu",
        "caf",
        "aide financiere",
        "aide de la caf",
        "argent",
        "allocation",
        "msa",
    ),
    "pack": ("pack", "nouveau depart", "referent", "referente"),
    "garde": ("creche", "garde", "nounou", "assistante maternelle", "faire garder", "mode de garde"),
    "emploi": ("emploi", "travail", "formation", "boulot", "job", "france travail", "chomage"),
    "hebergement_urgence": ("ce soir", "cette nuit", "dormir", "hebergement", "115", "mise a l abri", "foyer"),
    "logement": ("logement", "appartement", "appart", "hlm", "logement social", "loyer", "bail"),
    "psy": ("psy", "psychologue", "soutien psychologique", "therapie", "psychologique", "parler a un psy"),
}


def measures_in(text: str, previous_intent: str | None = None) -> tuple[str, ...]:
    """The measures a request names; the topic she was reading; else all of them."""
    padded = f" {normalize(text)} "
    named = [m for m in MEASURES if any(f" {w} " in padded for w in _MEASURE_WORDS[m])]
    if named:
        return tuple(named)
    if previous_intent in MEASURE_FOR_INTENT:
        return (MEASURE_FOR_INTENT[previous_intent],)
    return MEASURES


@dataclass(frozen=True)
class Situation:
    """What she told; None where she did not say (skipped or not asked)."""

    abri_ce_soir: str | None = None
    departement: str | None = None
    relation: str | None = None
    preuve: str | None = None
    date_preuve: DateRange | None = None
    sejour: str | None = None
    auu_recue: str | None = None
    enfants: Children | None = None
    revenus: Amount | None = None
    situation_emploi: str | None = None
    etat_psy: str | None = None

    @classmethod
    def from_slots(cls, slots: Mapping[str, Any]) -> "Situation":
        def text(name: str) -> str | None:
            value = slots.get(name)
            return value if isinstance(value, str) and value != UNKNOWN else None

        def obj(name: str) -> dict[str, Any] | None:
            value = slots.get(name)
            return value if isinstance(value, dict) else None

        date, children, income = obj("date_preuve"), obj("enfants"), obj("revenus")
        return cls(
            abri_ce_soir=text("abri_ce_soir"),
            departement=text("departement"),
            relation=text("relation"),
            preuve=text("preuve"),
            date_preuve=DateRange(dt.date.fromisoformat(date["debut"]), dt.date.fromisoformat(date["fin"]))
            if date
            else None,
            sejour=text("sejour"),
            auu_recue=text("auu_recue"),
            enfants=Children(int(children["nombre"]), tuple(int(a) for a in children.get("ages_mois", ())))
            if children
            else None,
            revenus=Amount(float(income["min"]), float(income["max"])) if income else None,
            situation_emploi=text("situation_emploi"),
            etat_psy=text("etat_psy"),
        )


def to_slot(value: Any) -> Any:
    """A parsed answer as a JSON slot value."""
    if isinstance(value, DateRange):
        return {"debut": value.earliest.isoformat(), "fin": value.latest.isoformat()}
    if isinstance(value, Children):
        return {"nombre": value.count, "ages_mois": list(value.ages_months)}
    if isinstance(value, Amount):
        return {"min": value.low, "max": value.high}
    return value


def auu_blocked(situation: Situation, rules: RuleSet, today: dt.date) -> bool:
    """An answer already rules the aid out for now: its other questions are not needed."""
    params = rules.measures["auu"].params
    if situation.relation and situation.relation not in params["relations_couvertes"]:
        return True
    if situation.preuve and situation.preuve not in params["preuves_valables"]:
        return True
    if situation.date_preuve and proof_age(situation.date_preuve, today, params["validite_preuve_mois"]) == "ancienne":
        return True
    return situation.sejour == "non" or situation.auu_recue == "oui"


def proof_age(date: DateRange, today: dt.date, months: int) -> str:
    """'recente', 'ancienne' or 'incertaine' (the interval straddles the limit)."""
    from bot.eligibility.parsers import _add_months

    limit = _add_months(today, -months)
    if date.earliest > limit:
        return "recente"
    if date.latest <= limit:
        return "ancienne"
    return "incertaine"


def needed_questions(
    measures: tuple[str, ...], situation: Situation, questionnaire: Questionnaire, rules: RuleSet, today: dt.date
) -> list[str]:
    """The questions, in order, that the requested measures need given what she said so far."""
    wanted = set(measures)
    auu = "auu" in wanted and not auu_blocked(situation, rules, today)
    valid_proofs = rules.measures["auu"].params["preuves_valables"]
    children = situation.enfants
    young_or_unknown = (
        children is not None
        and children.count > 0
        and (children.under(rules.measures["garde"].params["age_max_creche_ans"]) != 0)
    )
    needs = {
        "abri_ce_soir": "hebergement_urgence" in wanted,
        "departement": "pack" in wanted,
        "relation": "auu" in wanted,
        "preuve": auu or "logement" in wanted or ("emploi" in wanted and situation.situation_emploi == "emploi"),
        "date_preuve": auu and situation.preuve in valid_proofs,
        "sejour": auu,
        "auu_recue": auu,
        "enfants": auu or "garde" in wanted,
        "revenus": auu,
        "situation_emploi": "emploi" in wanted or ("garde" in wanted and young_or_unknown),
        "etat_psy": "psy" in wanted,
    }
    # An answer already given stays in the list (the form skips filled slots).
    answered = {qid for qid in questionnaire.ids if getattr(situation, qid, None) is not None}
    return [q.id for q in questionnaire.questions if needs.get(q.id) or (q.id in answered and wanted & set(q.measures))]


def clean_slots(
    slots: Mapping[str, Any], questionnaire: Questionnaire, known_places: set[str] | None = None
) -> dict[str, Any]:
    """Only validated answers: the form puts her raw text in a slot before it is read."""
    clean: dict[str, Any] = {}
    for q in questionnaire.questions:
        value = slots.get(q.id)
        if value == UNKNOWN:
            clean[q.id] = value
        elif q.type == "choix":
            clean[q.id] = value if value in {o.id for o in q.options} else None
        elif q.type == "departement":
            clean[q.id] = value if isinstance(value, str) and (known_places is None or value in known_places) else None
        else:
            clean[q.id] = value if isinstance(value, dict) else None
    return clean


@dataclass(frozen=True)
class Answer:
    """'ok' with a slot value, 'skip' (she may always skip), 'invalid' (ask again), or
    'ambiguous' with the candidate codes of a shared place name (ask which one)."""

    status: str
    value: Any = None


def read_answer(
    question: Question, text: str, territories: Territories, today: dt.date, smic_net: float | None = None
) -> Answer:
    if question.type == "choix":
        chosen: Any = (
            parse_choices(text, question.synonyms())
            if question.multiple
            else parse_choice(text, question.synonyms(), question.priority)
        )
        if chosen is not None:
            return Answer("ok", chosen)
    if is_skip(text):
        return Answer("skip", UNKNOWN)
    if question.type == "choix":
        return Answer("invalid")
    if question.type in ("telephone", "email"):
        # Contact details are checked by the case core, which stores them.
        from bot.cases.contact import parse_email, parse_phone

        if question.type == "email":
            candidates = [text] + [w.strip(".,;:«»()") for w in text.split() if "@" in w]
            email = next((e for e in map(parse_email, candidates) if e), None)
            return Answer("ok", email) if email else Answer("invalid")
        candidates = [text] + re.findall(r"(?:\+|00)?\d[\d .\-/()]{7,}\d", text)
        phone = next((p for p in map(parse_phone, candidates) if p), None)
        return Answer("ok", {"e164": phone.e164, "mobile": phone.mobile}) if phone else Answer("invalid")
    if question.type == "texte":
        short = parse_short_text(text)
        return Answer("ok", short) if short is not None else Answer("invalid")
    if question.type == "departement":
        found = territories.resolve(text)
        if found.departement is not None:
            return Answer("ok", found.departement.code)
        if found.ambiguous:
            return Answer("ambiguous", tuple(d.code for d in found.candidates))
        return Answer("invalid")
    parsed: Any
    if question.type == "date":
        parsed = parse_date(text, today)
    elif question.type == "enfants":
        parsed = parse_children(text)
    else:
        parsed = parse_amount(text, smic_net)
    return Answer("ok", to_slot(parsed)) if parsed is not None else Answer("invalid")
