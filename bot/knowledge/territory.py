"""Where does she live, and does the « pack nouveau départ » exist there?

`resolve` turns what people write (« 95 », « dans le Val d'Oise », « Cergy »,
« 95300 », « la Réunion », « le 9-3 ») into a département, or into the
candidates when the name is shared (« Saint-Denis »: Seine-Saint-Denis or La
Réunion) so that the conversation asks instead of guessing; `pack_status`
says honestly whether the pack runs there, from data/knowledge/territoires.yml.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from bot.knowledge.loader import KnowledgeError, Source, parse_source, parse_verified
from bot.text import basic_normalize

ACTIVE, SETTING_UP, ANNOUNCED, ABSENT, OUT_OF_SCOPE = "actif", "mise_en_place", "annonce", "absent", "hors_champ"
PACK_STATUSES = (ACTIVE, SETTING_UP, ANNOUNCED)

# Place names that are also everyday French words: only taken after a preposition
# (« j'habite dans le Nord ») or when the message is just the place.
_GUARDED = {
    "cher",
    "nord",
    "lot",
    "aube",
    "somme",
    "manche",
    "ain",
    "tours",
    "sens",
    "orange",
    "nice",
    "lens",
    "gap",
    "vienne",
    "digne",
    "tulle",
    "grasse",
    "lourdes",
    "saintes",
    "reunion",
    "vire",
    "cannes",
    "foix",
    "auch",
    "dole",
    "mende",
    "riom",
    "sete",
    "pau",
    "dax",
    "var",
    "gard",
    "orne",
    "eure",
    "marne",
    "loire",
    "indre",
    "tarn",
    "gers",
    "landes",
    "allier",
    "creuse",
    "doubs",
    "jura",
    "meuse",
    "yonne",
    "ardennes",
    "vosges",
    "oise",
    "aisne",
    "savoie",
    "correze",
    "cantal",
    "lozere",
}
_PREPOSITIONS = {
    "a",
    "au",
    "aux",
    "en",
    "dans",
    "vers",
    "pres",
    "sur",
    "de",
    "du",
    "des",
    "habite",
    "vis",
    "suis",
    "reste",
}
_ARTICLES = {"le", "la", "les", "l", "de", "d"}
_NUMBER_CONTEXT = {"le", "du", "departement", "dept", "dpt", "dep", "en", "au", "dans", "habite", "suis"}
_CODE = re.compile(r"^(?:97[1-8]|98[678]|2a|2b|0?[1-9]|[1-8]\d|9[0-5])$")
_POSTCODE = re.compile(r"\b(\d{5})\b")
# Postal codes of the Antilles collectivities, inside the 971 range.
_SPECIAL_POSTCODES = {"97133": "977", "97150": "978"}


@dataclass(frozen=True)
class Departement:
    code: str
    nom: str
    outre_mer: bool = False
    collectivite: bool = False

    @property
    def label(self) -> str:
        return f"{self.nom} ({self.code})"


@dataclass(frozen=True)
class Resolution:
    """One département, or the candidates of a shared name (then `departement` is None)."""

    departement: Departement | None = None
    candidates: tuple[Departement, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.departement is None and len(self.candidates) > 1

    @property
    def found(self) -> bool:
        return self.departement is not None or self.ambiguous


@dataclass(frozen=True)
class PackEntry:
    code: str
    statut: str
    depuis: dt.date | None
    depuis_texte: str
    coordination: str
    source: Source
    last_verified: dt.date | None
    reliability: str = ""
    etat: str = ""  # for « mise_en_place »: what we know, in one sentence


@dataclass(frozen=True)
class LocalHelp:
    """A collectivity with its own social system: no AUU, these numbers instead."""

    code: str
    numeros: str
    source: Source
    reliability: str
    last_verified: dt.date | None


@dataclass(frozen=True)
class PackStatus:
    departement: Departement
    statut: str  # actif | mise_en_place | annonce | absent | hors_champ
    entry: PackEntry | None = None


class Territories:
    def __init__(
        self,
        departements: list[Departement],
        names: dict[str, tuple[str, ...]],
        pack: dict[str, PackEntry],
        local_help: dict[str, LocalHelp],
        cssm: set[str] | None = None,
    ):
        self.by_code = {d.code: d for d in departements}
        self._names = names  # normalised name -> code(s)
        self._max_words = max(len(n.split()) for n in names)
        self.pack = pack
        self.local_help = local_help
        self.out_of_scope = set(local_help)
        self.cssm = set(cssm or ())  # the AUU is paid by the CSSM on its own barème (Mayotte)

    # -- resolution -------------------------------------------------------
    def resolve(self, text: str) -> Resolution:
        words = basic_normalize(text).split()
        if not words:
            return Resolution()
        short = len(words) <= 4
        codes = self._from_postcode(text) or self._from_number(words) or self._from_name(words, short)
        if not codes:
            return Resolution()
        if len(codes) == 1:
            return Resolution(self.by_code[codes[0]], (self.by_code[codes[0]],))
        # A shared name: another hint in the message may settle it (« Saint-Denis de la Réunion », « Saint-Denis 93 »).
        hints = set(self._all_names(words)) | {w.zfill(2) for w in words if w.isdigit()}
        settled = [c for c in codes if c in hints]
        if len(settled) == 1:
            return Resolution(self.by_code[settled[0]], (self.by_code[settled[0]],))
        return Resolution(None, tuple(self.by_code[c] for c in codes))

    def resolve_place(self, text: str) -> Departement | None:
        """The département when there is exactly one; None when unknown or shared."""
        return self.resolve(text).departement

    def _from_postcode(self, text: str) -> tuple[str, ...]:
        match = _POSTCODE.search(text)
        if not match:
            return ()
        pc = match.group(1)
        if pc in _SPECIAL_POSTCODES:
            return (_SPECIAL_POSTCODES[pc],)
        if pc.startswith(("97", "98")):
            return (pc[:3],) if pc[:3] in self.by_code else ()
        if pc.startswith("20"):
            # 200xx-201xx Corse-du-Sud, 202xx and 206xx Haute-Corse; otherwise ask.
            if pc[:3] in ("200", "201"):
                return ("2A",)
            if pc[:3] in ("202", "206"):
                return ("2B",)
            return ("2A", "2B")
        return (pc[:2],) if pc[:2] in self.by_code else ()

    def _from_number(self, words: list[str]) -> tuple[str, ...]:
        # A bare number is a département only alone or after « le », « dans le »...:
        # « 2 enfants » is not the Aisne. « le 9-3 » is the 93, not the Ariège.
        for i, w in enumerate(words):
            in_context = len(words) == 1 or (i > 0 and words[i - 1] in _NUMBER_CONTEXT)
            pair = (
                i + 1 < len(words) and len(w) == 1 and w.isdigit() and len(words[i + 1]) == 1 and words[i + 1].isdigit()
            )
            if pair and (in_context or (i == 0 and len(words) == 2)):
                joined = w + words[i + 1]
                if _CODE.match(joined) and joined in self.by_code:
                    return (joined,)
                continue
            if not _CODE.match(w) or not in_context:
                continue
            code = w.upper() if w in ("2a", "2b") else w.zfill(2)
            if code in self.by_code:
                return (code,)
        return ()

    def _matches(self, words: list[str], short: bool) -> Iterator[tuple[str, ...]]:
        # Longest names first, so that « Seine-Saint-Denis » beats « Saint-Denis ».
        for size in range(min(self._max_words, len(words)), 0, -1):
            for i in range(len(words) - size + 1):
                name = " ".join(words[i : i + size])
                codes = self._names.get(name)
                if codes is None:
                    continue
                if name in _GUARDED and not (self._alone(words, name) or self._after_preposition(words, i)):
                    continue
                yield codes

    def _from_name(self, words: list[str], short: bool) -> tuple[str, ...]:
        return next(self._matches(words, short), ())

    def _all_names(self, words: list[str]) -> list[str]:
        return [c for codes in self._matches(words, True) if len(codes) == 1 for c in codes]

    @staticmethod
    def _alone(words: list[str], name: str) -> bool:
        return " ".join(w for w in words if w not in _ARTICLES) == name

    @staticmethod
    def _after_preposition(words: list[str], i: int) -> bool:
        j = i - 1
        while j >= 0 and words[j] in _ARTICLES and j >= i - 2:
            j -= 1
        return j >= 0 and words[j] in _PREPOSITIONS

    # -- the pack ---------------------------------------------------------
    def pack_status(self, departement: Departement) -> PackStatus:
        if departement.code in self.out_of_scope:
            return PackStatus(departement, OUT_OF_SCOPE)
        entry = self.pack.get(departement.code)
        if entry is None:
            return PackStatus(departement, ABSENT)
        return PackStatus(departement, entry.statut, entry)

    def active(self) -> list[Departement]:
        return [self.by_code[c] for c, e in self.pack.items() if e.statut == ACTIVE]

    def setting_up(self) -> list[Departement]:
        return [self.by_code[c] for c, e in self.pack.items() if e.statut == SETTING_UP]


def _reliability(raw: dict[str, Any], where: str, errors: list[str]) -> str:
    reliability = raw.get("reliability")
    if reliability not in ("officiel", "secondaire", "a_verifier"):
        errors.append(f"{where}: reliability doit être officiel, secondaire ou a_verifier")
    return str(reliability)


def load_territories(knowledge_dir: Path, today: dt.date | None = None) -> Territories:
    today = today or dt.date.today()
    errors: list[str] = []
    deps_doc = yaml.safe_load((knowledge_dir / "departements.yml").read_text(encoding="utf-8"))
    shared = {basic_normalize(str(n)) for n in deps_doc.get("noms_partages") or []}
    departements: list[Departement] = []
    names: dict[str, tuple[str, ...]] = {}

    def add(key: str, code: str, declared: bool = True) -> None:
        if not key or key.isdigit():
            return
        codes = names.get(key, ())
        if code in codes:
            return
        if codes and key not in shared:
            if declared:
                errors.append(
                    f"departements.yml: « {key} » désigne {codes[0]} et {code} "
                    "(ajoutez-le à noms_partages si c'est voulu)"
                )
            return
        names[key] = codes + (code,)

    for raw in deps_doc["departements"]:
        d = Departement(str(raw["code"]), raw["nom"], bool(raw.get("outre_mer")), bool(raw.get("collectivite")))
        departements.append(d)
        for name in [d.nom, *raw.get("alias", []), *raw.get("villes", [])]:
            add(basic_normalize(str(name)), d.code)
        # « la reunion » and « reunion » both name 974; articles are optional in speech.
        bare = basic_normalize(d.nom)
        for article in ("la ", "le ", "les ", "l "):
            if bare.startswith(article) and bare[len(article) :] not in names:
                names[bare[len(article) :]] = (d.code,)
    for name in shared:
        if len(names.get(name, ())) < 2:
            errors.append(f"departements.yml: « {name} » est dans noms_partages mais ne désigne qu'un lieu")
    # « Évry » for « Évry-Courcouronnes »: the first part of a compound town name,
    # when no other place claims it.
    prefixes: dict[str, set[str]] = {}
    for raw in deps_doc["departements"]:
        for town in raw.get("villes", []):
            first = basic_normalize(str(town).split("-")[0])
            if "-" in str(town) and len(first) >= 4 and first not in ("saint", "sainte"):
                prefixes.setdefault(first, set()).add(str(raw["code"]))
    for prefix, codes in prefixes.items():
        if len(codes) == 1 and prefix not in names:
            names[prefix] = (codes.pop(),)
    known = {d.code for d in departements}

    terr_doc = yaml.safe_load((knowledge_dir / "territoires.yml").read_text(encoding="utf-8"))
    pack: dict[str, PackEntry] = {}
    for raw in terr_doc["departements"]:
        code = str(raw.get("code"))
        where = f"territoires.yml:{code}"
        if code not in known:
            errors.append(f"{where}: département inconnu")
        statut = raw.get("statut")
        if statut not in PACK_STATUSES:
            errors.append(f"{where}: statut doit être l'un de {', '.join(PACK_STATUSES)}")
        reliability = _reliability(raw, where, errors)
        source = parse_source(raw.get("source"), where, errors, reliability)
        verified = parse_verified(
            raw.get("last_verified"), where, errors, today, reliability, present="last_verified" in raw
        )
        depuis = raw.get("depuis")
        if statut == ACTIVE and not (isinstance(depuis, dt.date) and raw.get("depuis_texte")):
            errors.append(f"{where}: un département actif doit donner depuis (date) et depuis_texte")
        if statut == SETTING_UP and not raw.get("etat"):
            errors.append(f"{where}: un département en mise en place doit dire où en est le pack (etat)")
        if source:
            pack[code] = PackEntry(
                code,
                str(statut),
                depuis if isinstance(depuis, dt.date) else None,
                str(raw.get("depuis_texte") or ""),
                str(raw.get("coordination") or ""),
                source,
                verified,
                reliability,
                str(raw.get("etat") or ""),
            )
    local_help: dict[str, LocalHelp] = {}
    for raw in terr_doc.get("hors_champ") or []:
        code = str(raw.get("code")) if isinstance(raw, dict) else str(raw)
        where = f"territoires.yml:hors_champ:{code}"
        if not isinstance(raw, dict) or not raw.get("numeros"):
            errors.append(f"{where}: donner les numéros locaux (numeros) et leur source")
            continue
        if code not in known:
            errors.append(f"{where}: territoire inconnu")
        reliability = _reliability(raw, where, errors)
        source = parse_source(raw.get("source"), where, errors, reliability)
        verified = parse_verified(
            raw.get("last_verified"), where, errors, today, reliability, present="last_verified" in raw
        )
        if source:
            local_help[code] = LocalHelp(code, str(raw["numeros"]).strip(), source, reliability, verified)
    cssm = {str(c) for c in (terr_doc.get("aide_universelle_urgence") or {}).get("cssm", [])}
    if cssm - known:
        errors.append(f"territoires.yml: aide_universelle_urgence.cssm, territoire inconnu {sorted(cssm - known)}")
    if errors:
        raise KnowledgeError("\n".join(errors))
    return Territories(departements, names, pack, local_help, cssm)


@lru_cache(maxsize=4)
def cached_territories(knowledge_dir: str) -> Territories:
    return load_territories(Path(knowledge_dir))
