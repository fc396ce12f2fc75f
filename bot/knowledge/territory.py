"""Where does she live, and does the « pack nouveau départ » exist there?

`resolve_place` turns what people write (« 95 », « dans le Val d'Oise »,
« Cergy », « 95300 », « la Réunion ») into a département; `pack_status` says
honestly whether the pack runs there, from data/knowledge/territoires.yml.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.knowledge.loader import KnowledgeError, Source, parse_source, parse_verified
from bot.text import basic_normalize

ACTIVE, ANNOUNCED, ABSENT, OUT_OF_SCOPE = "actif", "annonce", "absent", "hors_champ"

# Place names that are also everyday French words: only taken after a preposition
# (« j'habite dans le Nord ») or when the message is just the place.
_GUARDED = {
    "cher", "nord", "lot", "aube", "somme", "manche", "ain", "tours", "sens", "orange", "nice",
    "lens", "gap", "vienne", "digne", "tulle", "grasse", "lourdes", "saintes", "reunion", "vire",
    "cannes", "foix", "auch", "dole", "mende", "riom", "sete", "pau", "dax", "var", "gard", "orne",
    "eure", "marne", "loire", "indre", "tarn", "gers", "landes", "allier", "creuse", "doubs", "jura",
    "meuse", "yonne", "ardennes", "vosges", "oise", "aisne", "savoie", "correze", "cantal", "lozere",
}
_PREPOSITIONS = {"a", "au", "aux", "en", "dans", "vers", "pres", "sur", "de", "du", "des",
                 "habite", "vis", "suis", "reste"}
_ARTICLES = {"le", "la", "les", "l", "de", "d"}
_NUMBER_CONTEXT = {"le", "du", "departement", "dept", "dpt", "dep", "en", "au", "dans", "habite", "suis"}
_CODE = re.compile(r"^(?:97[1-8]|98[678]|2a|2b|0?[1-9]|[1-8]\d|9[0-5])$")
_POSTCODE = re.compile(r"\b(\d{5})\b")


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
class PackEntry:
    code: str
    statut: str
    depuis: dt.date | None
    depuis_texte: str
    coordination: str
    source: Source
    last_verified: dt.date


@dataclass(frozen=True)
class PackStatus:
    departement: Departement
    statut: str  # actif | annonce | absent | hors_champ
    entry: PackEntry | None = None


class Territories:
    def __init__(self, departements: list[Departement], names: dict[str, str],
                 pack: dict[str, PackEntry], out_of_scope: set[str]):
        self.by_code = {d.code: d for d in departements}
        self._names = names  # normalised name -> code
        self._max_words = max(len(n.split()) for n in names)
        self.pack = pack
        self.out_of_scope = out_of_scope

    # -- resolution -------------------------------------------------------
    def resolve_place(self, text: str) -> Departement | None:
        words = basic_normalize(text).split()
        if not words:
            return None
        short = len(words) <= 4
        code = self._from_postcode(text) or self._from_number(words) or self._from_name(words, short)
        return self.by_code.get(code) if code else None

    def _from_postcode(self, text: str) -> str | None:
        match = _POSTCODE.search(text)
        if not match:
            return None
        pc = match.group(1)
        if pc.startswith(("97", "98")):
            return pc[:3]
        if pc.startswith("20"):
            return "2A" if int(pc) < 20200 else "2B"
        return pc[:2] if pc[:2] in self.by_code else None

    def _from_number(self, words: list[str]) -> str | None:
        # A bare number is a département only alone or after « le », « dans le »...:
        # « 2 enfants » is not the Aisne.
        for i, w in enumerate(words):
            if not _CODE.match(w):
                continue
            if len(words) == 1 or (i > 0 and words[i - 1] in _NUMBER_CONTEXT):
                code = w.upper() if w in ("2a", "2b") else w.zfill(2)
                if code in self.by_code:
                    return code
        return None

    def _from_name(self, words: list[str], short: bool) -> str | None:
        # Longest names first, so that « Seine-Saint-Denis » beats « Seine ».
        for size in range(min(self._max_words, len(words)), 0, -1):
            for i in range(len(words) - size + 1):
                name = " ".join(words[i:i + size])
                code = self._names.get(name)
                if code is None:
                    continue
                if name in _GUARDED and not (self._alone(words, name) or self._after_preposition(words, i)):
                    continue
                return code
        return None

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


def load_territories(knowledge_dir: Path, today: dt.date | None = None) -> Territories:
    today = today or dt.date.today()
    errors: list[str] = []
    deps_doc = yaml.safe_load((knowledge_dir / "departements.yml").read_text(encoding="utf-8"))
    departements: list[Departement] = []
    names: dict[str, str] = {}
    for raw in deps_doc["departements"]:
        d = Departement(str(raw["code"]), raw["nom"], bool(raw.get("outre_mer")), bool(raw.get("collectivite")))
        departements.append(d)
        for name in [d.nom, *raw.get("alias", []), *raw.get("villes", [])]:
            key = basic_normalize(str(name))
            if key and not key.isdigit():
                if key in names and names[key] != d.code:
                    errors.append(f"departements.yml: « {name} » désigne {names[key]} et {d.code}")
                names[key] = d.code
        # « la reunion » and « reunion » both name 974; articles are optional in speech.
        bare = basic_normalize(d.nom)
        for article in ("la ", "le ", "les ", "l "):
            if bare.startswith(article):
                names.setdefault(bare[len(article):], d.code)
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
            names[prefix] = codes.pop()
    known = {d.code for d in departements}

    terr_doc = yaml.safe_load((knowledge_dir / "territoires.yml").read_text(encoding="utf-8"))
    pack: dict[str, PackEntry] = {}
    for raw in terr_doc["departements"]:
        code = str(raw.get("code"))
        where = f"territoires.yml:{code}"
        if code not in known:
            errors.append(f"{where}: département inconnu")
        statut = raw.get("statut")
        if statut not in (ACTIVE, ANNOUNCED):
            errors.append(f"{where}: statut doit être {ACTIVE} ou {ANNOUNCED}")
        source = parse_source(raw.get("source"), where, errors)
        verified = parse_verified(raw.get("last_verified"), where, errors, today)
        depuis = raw.get("depuis")
        if statut == ACTIVE and not (isinstance(depuis, dt.date) and raw.get("depuis_texte")):
            errors.append(f"{where}: un département actif doit donner depuis (date) et depuis_texte")
        if source and verified:
            pack[code] = PackEntry(code, str(statut), depuis if isinstance(depuis, dt.date) else None,
                                   str(raw.get("depuis_texte") or ""), str(raw.get("coordination") or ""),
                                   source, verified)
    out_of_scope = {str(c) for c in terr_doc.get("hors_champ", [])}
    if errors:
        raise KnowledgeError("\n".join(errors))
    return Territories(departements, names, pack, out_of_scope)


@lru_cache(maxsize=4)
def cached_territories(knowledge_dir: str) -> Territories:
    return load_territories(Path(knowledge_dir))
