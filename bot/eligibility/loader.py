"""Loads data/eligibility/regles.yml and questions.yml, strictly.

A missing text, source or date is an error at start-up, not a blank answer
in front of a victim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.knowledge.loader import KnowledgeError, parse_source, parse_verified
from bot.text import normalize

MEASURES = ("hebergement_urgence", "pack", "auu", "logement", "garde", "emploi", "psy")
OUTCOMES = ("probablement_eligible", "pas_eligible", "a_verifier")
QUESTION_TYPES = ("choix", "departement", "date", "enfants", "montant", "telephone", "email", "texte")

# The texts the rules engine refers to, by measure: all must be written.
REQUIRED_TEXTS: dict[str, set[str]] = {
    "hebergement_urgence": {"sans_abri", "abri", "abri_inconnu", "etape_maintenant", "etape_plus_tard"},
    "pack": {
        "actif",
        "mise_en_place",
        "annonce",
        "absent",
        "hors_champ",
        "lieu_inconnu",
        "sans_plainte",
        "etape_entrer",
        "etape_lieu",
        "etape_ailleurs",
    },
    "auu": {
        "relation_ok",
        "relation_autre",
        "relation_inconnue",
        "preuve_ok",
        "preuve_ancienne",
        "preuve_date_inconnue",
        "preuve_main_courante",
        "preuve_aucune",
        "preuve_inconnue",
        "sejour_ok",
        "sejour_non",
        "sejour_inconnu",
        "deja_recue",
        "pas_recue",
        "recue_inconnue",
        "hors_champ",
        "mayotte_montant",
        "etape_demander_mayotte",
        "etape_hors_champ",
        "montant_fourchette",
        "montant_environ",
        "montant_sans_revenus",
        "enfants_inconnus",
        "don",
        "pret",
        "don_ou_pret",
        "etape_demander",
        "etape_preuve",
        "etape_verifier",
        "etape_autres_aides",
    },
    "logement": {"prioritaire", "avec_ordonnance", "sans_ordonnance", "visale", "etape_demande"},
    "garde": {
        "sans_enfant",
        "creche_projet",
        "creche_sans_projet",
        "plus_de_3_ans",
        "ages_inconnus",
        "enfants_inconnus",
        "projet_inconnu",
        "coupe_file",
        "rendez_vous",
        "etape_creche",
    },
    "emploi": {
        "en_emploi",
        "plainte_faite",
        "en_recherche",
        "autre",
        "situation_inconnue",
        "accompagnement_auu",
        "etape_france_travail",
    },
    "psy": {"crise", "tres_difficile", "difficile", "inconnu", "etape_3114", "etape_association"},
}
REQUIRED_QUESTION_TEXTS = {
    "intro",
    "reprise",
    "reprise_proposee",
    "arret",
    "resultat_intro",
    "resultat_fin",
    "passer",
    "arreter",
    "incompris_reponse",
    "passer_possible",
    "reprendre",
    "referent",
    "effacer",
    "autre_aide",
}


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    texts: Mapping[str, str]
    params: Mapping[str, Any]
    sources: tuple[str, ...]
    proof_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    version: str
    effective_from: dt.date
    effective_to: dt.date | None
    outcome_labels: Mapping[str, str]
    measures: Mapping[str, Measure]

    def text(self, measure: str, text_id: str) -> str:
        return self.measures[measure].texts[text_id]


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str
    measures: tuple[str, ...]
    type: str
    text: str
    example: str
    explanation: str
    options: tuple[Option, ...] = ()
    priority: tuple[str, ...] = ()
    multiple: bool = False  # a choice where she may name several options

    def synonyms(self) -> dict[str, tuple[str, ...]]:
        return {o.id: o.synonyms for o in self.options}


@dataclass(frozen=True)
class Questionnaire:
    questions: tuple[Question, ...]
    texts: Mapping[str, str]

    def __getitem__(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise KnowledgeError(f"{path}: not a mapping")
    return doc


def load_rules(path: Path, today: dt.date | None = None) -> RuleSet:
    doc = _read(path)
    where = str(path)
    for key in ("version", "en_vigueur", "last_verified", "resultats", "sources", "mesures"):
        if key not in doc:
            raise KnowledgeError(f"{where}: « {key} » manque")
    today = today or dt.date.today()
    errors: list[str] = []
    parse_verified(doc["last_verified"], where, errors, today)
    sources = {}
    for sid, src in doc["sources"].items():
        reliability = src.get("reliability") if isinstance(src, dict) else None
        sources[sid] = parse_source(src, f"{where}: source {sid}", errors, reliability)
        if not isinstance(src, dict) or "reliability" not in src:
            errors.append(f"{where}: source {sid} sans « reliability »")
        else:
            parse_verified(
                src.get("last_verified"),
                f"{where}: source {sid}",
                errors,
                today,
                reliability,
                present="last_verified" in src,
            )
    if errors:
        raise KnowledgeError("\n".join(errors))
    if set(doc["resultats"]) != set(OUTCOMES):
        raise KnowledgeError(f"{where}: resultats doit définir {OUTCOMES}")
    measures = {}
    for mid in MEASURES:
        raw = doc["mesures"].get(mid)
        if raw is None:
            raise KnowledgeError(f"{where}: mesure {mid} manquante")
        missing = REQUIRED_TEXTS[mid] - set(raw.get("textes") or {})
        if missing:
            raise KnowledgeError(f"{where}: mesure {mid}, textes manquants : {sorted(missing)}")
        unknown_sources = set(raw.get("sources") or ()) - set(sources)
        if not raw.get("sources") or unknown_sources:
            raise KnowledgeError(f"{where}: mesure {mid} sans source connue ({sorted(unknown_sources)})")
        measures[mid] = Measure(
            mid,
            raw["titre"],
            dict(raw["textes"]),
            dict(raw.get("parametres") or {}),
            tuple(raw["sources"]),
            dict(raw.get("libelles_preuve") or {}),
        )
    extra = set(doc["mesures"]) - set(MEASURES)
    if extra:
        raise KnowledgeError(f"{where}: mesures inconnues {sorted(extra)}")
    validity = doc["en_vigueur"]
    return RuleSet(str(doc["version"]), validity["debut"], validity.get("fin"), dict(doc["resultats"]), measures)


def load_questions(path: Path, required_texts: set[str] = REQUIRED_QUESTION_TEXTS) -> Questionnaire:
    doc = _read(path)
    where = str(path)
    missing = required_texts - set(doc.get("textes") or {})
    if missing:
        raise KnowledgeError(f"{where}: textes manquants {sorted(missing)}")
    questions = []
    for qid, raw in (doc.get("questions") or {}).items():
        for key in ("type", "texte", "exemple", "explication"):
            if not raw.get(key):
                raise KnowledgeError(f"{where}: question {qid}, « {key} » manque")
        if raw["type"] not in QUESTION_TYPES:
            raise KnowledgeError(f"{where}: question {qid}, type inconnu {raw['type']}")
        if set(raw.get("mesures") or ()) - set(MEASURES):
            raise KnowledgeError(f"{where}: question {qid}, mesure inconnue")
        options = tuple(
            Option(oid, o["libelle"], tuple(sorted({normalize(s) for s in o["synonymes"]} | {normalize(o["libelle"])})))
            for oid, o in (raw.get("options") or {}).items()
        )
        if raw["type"] == "choix" and len(options) < 2:
            raise KnowledgeError(f"{where}: question {qid}, au moins deux options")
        priority = tuple(raw.get("priorite") or ())
        if priority and set(priority) != {o.id for o in options}:
            raise KnowledgeError(f"{where}: question {qid}, « priorite » doit lister toutes les options")
        questions.append(
            Question(
                qid,
                tuple(raw.get("mesures") or ()),
                raw["type"],
                raw["texte"].strip(),
                raw["exemple"].strip(),
                raw["explication"].strip(),
                options,
                priority,
                bool(raw.get("multiple")),
            )
        )
    return Questionnaire(tuple(questions), dict(doc["textes"]))
