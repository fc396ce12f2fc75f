"""Text normalisation shared by the danger detector and the place resolver.

People write on a phone, in a hurry: no accents, SMS spelling, repeated letters.
Everything deterministic matching does starts from `normalize`.
"""

from __future__ import annotations

import re
import unicodedata

# SMS spellings seen in French messages, token by token (after accent stripping).
SMS_TOKENS: dict[str, str] = {
    "jsui": "je suis",
    "jsuis": "je suis",
    "chui": "je suis",
    "chuis": "je suis",
    "jss": "je suis",
    "jai": "j ai",
    "g": "j ai",
    "jpeux": "je peux",
    "jpe": "je peux",
    "jpx": "je peux",
    "jveux": "je veux",
    "jvx": "je veux",
    "jvais": "je vais",
    "jvai": "je vais",
    "jve": "je vais",
    "jsai": "je sais",
    "jsais": "je sais",
    "jpense": "je pense",
    "jme": "je me",
    "jle": "je le",
    "jla": "je la",
    "ke": "que",
    "k": "que",
    "kil": "qu il",
    "quil": "qu il",
    "qil": "qu il",
    "ki": "qui",
    "koi": "quoi",
    "pa": "pas",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "tt": "tout",
    "tte": "toute",
    "ya": "il y a",
    "ds": "dans",
    "vs": "vous",
    "mtn": "maintenant",
    "mnt": "maintenant",
    "auj": "aujourd hui",
    "ptn": "putain",
    "bb": "bebe",
    "ct": "c etait",
    "cv": "ca va",
    "dla": "de la",
    "ptit": "petit",
    "ptite": "petite",
    "ptits": "petits",
    "ptites": "petites",
    "pe": "peux",
    "veu": "veux",
    "vai": "vais",
    "ilva": "il va",
    "iva": "il va",
    "ilve": "il veut",
    "slt": "salut",
    "bjr": "bonjour",
    "jetais": "j etais",
    "jtais": "j etais",
    "cest": "c est",
    "cetait": "c etait",
    "jsp": "je sais pas",
    "jpeu": "je peux",
    "ma3": "m a",
    "mfrappe": "me frappe",
    "mtape": "me tape",
    "jcrois": "je crois",
}

_APOSTROPHES = re.compile(r"[’'`´‘]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def basic_normalize(text: str) -> str:
    """Lower case, no accents, words separated by single spaces (no SMS expansion)."""
    text = strip_accents(text.lower()).replace("œ", "oe").replace("æ", "ae")
    text = _APOSTROPHES.sub(" ", text)
    text = _NON_WORD.sub(" ", text)
    return " ".join(text.split())


def normalize(text: str) -> str:
    """Lower case, no accents, SMS spellings expanded, `aaaaide` -> `aide`."""
    text = _REPEATS.sub(r"\1", basic_normalize(text))
    return " ".join(SMS_TOKENS.get(token, token) for token in text.split())
