"""What a case is: plain typed values, no storage and no Rasa.

Values stored in clear (reference, status, priority, territory, measures,
channel) are restricted to short identifiers here, so that personal text can
never slip into a clear column by mistake.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from bot.cases.contact import parse_email, parse_phone
from bot.danger import AGGRESSOR_PRESENT, CHILD, DANGER, SUICIDE

# --- statuses -------------------------------------------------------------
NEW, TAKEN, IN_PROGRESS, CLOSED, WITHDRAWN = "nouveau", "pris_en_charge", "en_cours", "clos", "retire"
STATUSES = (NEW, TAKEN, IN_PROGRESS, CLOSED, WITHDRAWN)
OPEN_STATUSES = (NEW, TAKEN, IN_PROGRESS)
FINAL_STATUSES = (CLOSED, WITHDRAWN)
# Closed and withdrawn are final: a later request is a new case, and retention only
# ever has to look at final cases. Withdrawal goes through CaseStore.withdraw (erasure).
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({TAKEN, IN_PROGRESS, CLOSED, WITHDRAWN}),
    TAKEN: frozenset({NEW, IN_PROGRESS, CLOSED, WITHDRAWN}),  # NEW: handed back to the queue
    IN_PROGRESS: frozenset({CLOSED, WITHDRAWN}),
    CLOSED: frozenset({WITHDRAWN}),
    WITHDRAWN: frozenset(),
}

# --- priority -------------------------------------------------------------
URGENT, HIGH, NORMAL = "urgent", "high", "normal"
PRIORITIES = (URGENT, HIGH, NORMAL)  # queue order
# The four kinds of the deterministic detector (bot.danger): someone is in danger now.
URGENT_SIGNALS = frozenset({DANGER, AGGRESSOR_PRESENT, CHILD, SUICIDE})


def priority_for(signals: Iterable[str]) -> str:
    """urgent: any detector kind (danger, agresseur_present, enfant, suicide);
    high: any other recorded signal (e.g. « menaces », « sans_hebergement »): a
    signal we do not know is never downgraded to normal; normal: no signal."""
    seen = set(signals)
    if seen & URGENT_SIGNALS:
        return URGENT
    return HIGH if seen else NORMAL


# --- identifiers ----------------------------------------------------------
# No 0/O, 1/I/L, U: read aloud or copied by hand without confusion.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 8  # 30**8 ~ 6.6e11: not guessable by trying
CONTACT_CHANNELS = ("appel", "sms", "email", "ici")
_TOKEN = re.compile(r"^[a-z0-9_]{1,64}$")
_TERRITORY = re.compile(r"^(?:\d{2,3}|2[AB])$")
_CONVERSATION_ID = re.compile(r"^[0-9a-f]{64}$")


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalize_reference(text: str) -> str | None:
    """What she typed (« abcd-efgh », « ABCD EFGH ») as a reference, or None."""
    ref = re.sub(r"[\s\-.]", "", text or "").upper()
    if len(ref) == REFERENCE_LENGTH and all(c in REFERENCE_ALPHABET for c in ref):
        return ref
    return None


def is_conversation_id(text: str) -> bool:
    return bool(_CONVERSATION_ID.match(text or ""))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _tokens(values: Iterable[str], what: str) -> list[str]:
    out = []
    for v in values:
        if not isinstance(v, str) or not _TOKEN.match(v):
            raise ValueError(f"{what}: identifiant attendu (a-z, 0-9, _)")
        if v not in out:
            out.append(v)
    return out


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: valeur non sérialisable en JSON") from exc


class InvalidContact(ValueError):
    """The address does not fit the channel. `reason`: phone, mobile_required, email."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ContactPlan:
    """How the référent may reach her safely. Every field is personal: stored encrypted."""

    channel: str  # appel | sms | email | ici (continue in this chat)
    address: str | None = None  # E.164 phone or e-mail; None for « ici »
    time_windows: list[str] = field(default_factory=list)
    may_leave_message: bool = False
    code_word: str | None = None
    first_name: str | None = None  # or a pseudonym

    def __post_init__(self) -> None:
        # Structural checks only: a stored plan must always load, even if the
        # address rules get stricter later (those live in `validated`).
        if self.channel not in CONTACT_CHANNELS:
            raise ValueError(f"canal de contact inconnu, attendu : {', '.join(CONTACT_CHANNELS)}")
        if self.channel != "ici" and not self.address:
            raise InvalidContact("address_required")
        object.__setattr__(self, "time_windows", [str(w) for w in self.time_windows])

    @classmethod
    def validated(cls, channel: str, address: str | None = None, **rest: Any) -> "ContactPlan":
        """Build a plan from what she typed, normalising the address (phone to E.164)."""
        if channel in ("appel", "sms"):
            phone = parse_phone(address or "")
            if phone is None:
                raise InvalidContact("phone")
            if channel == "sms" and not phone.mobile:
                raise InvalidContact("mobile_required")
            address = phone.e164
        elif channel == "email":
            address = parse_email(address or "")
            if address is None:
                raise InvalidContact("email")
        else:
            address = None
        return cls(channel=channel, address=address, **rest)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ContactPlan":
        return cls(**data)


@dataclass(frozen=True)
class CaseDraft:
    """What the conversation hands over on her explicit yes."""

    conversation_id: str  # HMAC from crypto.conversation_id, never the raw chat id
    channel: str  # web, telegram, …
    contact: ContactPlan
    territory: str | None = None  # département code
    measures: list[str] = field(default_factory=list)
    danger_signals: list[str] = field(default_factory=list)
    eligibility: dict[str, Any] = field(default_factory=dict)  # answers, outcomes, rules_version
    # Set by the outbox so that a request waiting for the database already has the
    # reference she was given, and its replay cannot create a second case.
    reference: str | None = None
    created_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not is_conversation_id(self.conversation_id):
            raise ValueError("conversation_id: HMAC hexadécimal attendu, jamais l'identifiant brut")
        if not _TOKEN.match(self.channel or ""):
            raise ValueError("channel: identifiant attendu")
        if not isinstance(self.contact, ContactPlan):
            raise ValueError("contact: ContactPlan attendu")
        if self.territory is not None:
            territory = str(self.territory).upper()
            if not _TERRITORY.match(territory):
                raise ValueError("territory: code de département attendu")
            object.__setattr__(self, "territory", territory)
        object.__setattr__(self, "measures", _tokens(self.measures, "measures"))
        object.__setattr__(self, "danger_signals", _tokens(self.danger_signals, "danger_signals"))
        _check_json(self.eligibility, "eligibility")
        if self.reference is not None and normalize_reference(self.reference) != self.reference:
            raise ValueError("reference: format invalide")
        if self.created_at is not None and self.created_at.tzinfo is None:
            raise ValueError("created_at: date avec fuseau attendue")

    @property
    def priority(self) -> str:
        return priority_for(self.danger_signals)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat() if self.created_at else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CaseDraft":
        data = dict(data)
        data["contact"] = ContactPlan.from_dict(data["contact"])
        if data.get("created_at"):
            data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
        return cls(**data)


@dataclass(frozen=True)
class Case:
    reference: str
    conversation_id: str
    status: str
    priority: str
    territory: str | None
    measures: list[str]
    danger_signals: list[str]  # empty once withdrawn
    eligibility: dict[str, Any]  # empty once withdrawn
    contact: ContactPlan | None  # None once withdrawn
    channel: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None = None
    outcome: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Note:
    id: str
    reference: str
    author: str  # the référent's login (staff, not the victim)
    text: str
    created_at: dt.datetime


CREATED, STATUS_CHANGED = "cree", "statut"


@dataclass(frozen=True)
class CaseEvent:
    """One new case or status change: what a console needs to refresh, no personal data."""

    id: int  # the cursor: strictly increasing in commit order
    reference: str
    kind: str  # cree | statut
    status: str
    priority: str
    territory: str | None
    at: dt.datetime
