"""Case model: priority mapping, references, contact validation, clear-column guards."""

import datetime as dt

import pytest

from bot.cases.contact import parse_email, parse_phone
from bot.cases.model import (
    HIGH,
    NORMAL,
    REFERENCE_ALPHABET,
    URGENT,
    CaseDraft,
    ContactPlan,
    InvalidContact,
    new_reference,
    normalize_reference,
    priority_for,
)
from tests.cases_support import _case_env, keyring, make_draft  # noqa: F401


@pytest.mark.parametrize(
    "signals, expected",
    [
        ([], NORMAL),
        (["danger"], URGENT),
        (["agresseur_present"], URGENT),
        (["enfant"], URGENT),
        (["suicide"], URGENT),
        (["menaces"], HIGH),
        (["sans_hebergement", "menaces"], HIGH),
        (["menaces", "suicide"], URGENT),
    ],
)
def test_priority_from_danger_signals(signals, expected):
    assert priority_for(signals) == expected


def test_references_are_short_unambiguous_and_not_sequential():
    refs = {new_reference() for _ in range(5000)}
    assert len(refs) == 5000
    assert all(len(r) == 8 and set(r) <= set(REFERENCE_ALPHABET) for r in refs)
    assert not set("01OILU") & set(REFERENCE_ALPHABET)


def test_reference_typed_by_hand():
    assert normalize_reference(" abcd-efgh ") == "ABCDEFGH"
    assert normalize_reference("ABCD EFGH") == "ABCDEFGH"
    assert normalize_reference("ABCDEFG0") is None  # 0 is not in the alphabet
    assert normalize_reference("ABC") is None


@pytest.mark.parametrize(
    "typed, e164, mobile",
    [
        ("06 12 34 56 78", "+33612345678", True),
        ("07.12.34.56.78", "+33712345678", True),
        ("01 23 45 67 89", "+33123456789", False),
        ("09 51 23 45 67", "+33951234567", False),
        ("+33 6 12 34 56 78", "+33612345678", True),
        ("+33 (0)6 12 34 56 78", "+33612345678", True),
        ("0033612345678", "+33612345678", True),
        ("0692 12 34 56", "+262692123456", True),  # La Réunion mobile
        ("0262 12 34 56", "+262262123456", False),  # La Réunion landline
        ("+262 692 12 34 56", "+262692123456", True),
        ("0690 12 34 56", "+590690123456", True),  # Guadeloupe
        ("0596 12 34 56", "+596596123456", False),  # Martinique
        ("0694 12 34 56", "+594694123456", True),  # Guyane
        ("0639 12 34 56", "+262639123456", True),  # Mayotte
        ("+689 87 12 34 56", "+68987123456", True),  # Polynésie
        ("+687 75 12 34", "+687751234", True),  # Nouvelle-Calédonie
    ],
)
def test_french_and_overseas_numbers(typed, e164, mobile):
    phone = parse_phone(typed)
    assert phone is not None and phone.e164 == e164 and phone.mobile is mobile


@pytest.mark.parametrize(
    "typed",
    [
        "0612",
        "06 12 34 56 78 9",
        "08 00 12 34 56",
        "00 12 34 56 78",
        "+44 7700 900123",
        "appelez-moi",
        "",
        "+262 612345678",
    ],
)
def test_invalid_numbers(typed):
    assert parse_phone(typed) is None


def test_email_syntax():
    assert parse_email(" Claire.M@Exemple.FR ") == "Claire.M@exemple.fr"
    for bad in ("claire", "claire@", "@exemple.fr", "claire@exemple", "cl aire@exemple.fr"):
        assert parse_email(bad) is None


def test_contact_plan_validation():
    assert ContactPlan.validated("appel", "06 12 34 56 78").address == "+33612345678"
    assert ContactPlan.validated("ici").address is None
    with pytest.raises(InvalidContact) as err:
        ContactPlan.validated("sms", "01 23 45 67 89")
    assert err.value.reason == "mobile_required"
    with pytest.raises(InvalidContact) as err:
        ContactPlan.validated("appel", "12")
    assert err.value.reason == "phone"
    with pytest.raises(InvalidContact) as err:
        ContactPlan.validated("email", "pas-une-adresse")
    assert err.value.reason == "email"
    with pytest.raises(ValueError):
        ContactPlan.validated("pigeon", "x")


def test_draft_refuses_raw_chat_ids_and_free_text_in_clear_fields(keyring):
    draft = make_draft(keyring, territory="2a")
    assert draft.territory == "2A"
    with pytest.raises(ValueError, match="HMAC"):
        CaseDraft(conversation_id="telegram-123456", channel="web", contact=draft.contact)
    with pytest.raises(ValueError, match="measures"):
        make_draft(keyring, measures=["Je voudrais un logement à Cergy"])
    with pytest.raises(ValueError, match="territory"):
        make_draft(keyring, territory="Cergy")
    with pytest.raises(ValueError, match="fuseau"):
        make_draft(keyring, created_at=dt.datetime(2026, 1, 1))


def test_draft_round_trip(keyring):
    draft = make_draft(
        keyring, signals=["danger"], reference="ABCDEFGH", created_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    )
    assert CaseDraft.from_dict(draft.to_dict()) == draft
    assert draft.priority == URGENT
