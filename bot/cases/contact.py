"""Validation of the contact address she gives: French and overseas phone numbers, e-mail.

Phone numbers are normalised to E.164 (« +33612345678 ») so that the référent
dials exactly one form, whatever she typed (« 06 12 34 56 78 », « +33 (0)6… »,
« 0692 12 34 56 » for La Réunion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# National 10-digit numbers of the overseas départements dial with their own
# country code, not +33: (national prefix, country code, mobile?).
_OVERSEAS_PREFIXES: tuple[tuple[str, str, bool], ...] = (
    ("0590", "590", False),
    ("0690", "590", True),
    ("0691", "590", True),  # Guadeloupe, St-Martin, St-Barth
    ("0594", "594", False),
    ("0694", "594", True),  # Guyane
    ("0596", "596", False),
    ("0696", "596", True),
    ("0697", "596", True),  # Martinique
    ("0262", "262", False),
    ("0263", "262", False),  # La Réunion
    ("0692", "262", True),
    ("0693", "262", True),
    ("0269", "262", False),
    ("0639", "262", True),  # Mayotte
)
# Collectivités with short numbers: country code -> (digits, mobile prefixes).
_SHORT_PLANS = {
    "508": (6, ("4", "5")),  # Saint-Pierre-et-Miquelon
    "681": (6, ("8",)),  # Wallis-et-Futuna
    "687": (6, ("5", "7", "8", "9")),  # Nouvelle-Calédonie
    "689": (8, ("87", "89")),  # Polynésie française
}
_OVERSEAS_CODES = {"590", "594", "596", "262"}
_SEPARATORS = re.compile(r"[\s.\-/()]")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True)
class Phone:
    e164: str
    mobile: bool


def _dialable(digits: str) -> bool:
    # str.isdigit() is also true for « ١٢٣ » or « ０ »: a référent could not dial those.
    return digits.isascii() and digits.isdigit()


def _national(country: str, rest: str) -> Phone | None:
    """`rest`: the 9 digits after the 0 of a 10-digit French-plan number."""
    if len(rest) != 9 or not _dialable(rest):
        return None
    national = "0" + rest
    for prefix, code, mobile in _OVERSEAS_PREFIXES:
        if national.startswith(prefix):
            if country not in ("33", code):
                return None
            return Phone("+" + code + rest, mobile)
    if country != "33":
        return None
    # 01-05 geographic, 06-07 mobile, 09 VoIP boxes; 08 are service numbers, not hers.
    if rest[0] in "12345679":
        return Phone("+33" + rest, rest[0] in "67")
    return None


def parse_phone(text: str) -> Phone | None:
    """A French (metropolitan or overseas) number, or None when it is not one."""
    raw = _SEPARATORS.sub("", text or "")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("+"):
        digits = raw[1:]
        if not _dialable(digits):
            return None
        for code, (length, mobiles) in _SHORT_PLANS.items():
            if digits.startswith(code) and len(digits) == len(code) + length:
                local = digits[len(code) :]
                return Phone("+" + digits, local.startswith(mobiles))
        for code in ("33", *_OVERSEAS_CODES):
            if digits.startswith(code):
                rest = digits[len(code) :]
                if rest.startswith("0"):  # « +33 06… »: the trunk 0 typed anyway
                    rest = rest[1:]
                return _national(code, rest)
        return None
    if _dialable(raw) and len(raw) == 10 and raw.startswith("0"):
        return _national("33", raw[1:])
    return None


def parse_email(text: str) -> str | None:
    """The address with its domain lower-cased, or None when the syntax is wrong."""
    value = (text or "").strip()
    if len(value) > 254 or not _EMAIL.match(value):
        return None
    local, domain = value.rsplit("@", 1)
    if len(local) > 64:
        return None
    return f"{local}@{domain.lower()}"
