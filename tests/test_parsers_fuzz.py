"""Bad answers are just bad answers: no input makes a parser raise.

A hypothesis fuzz over every parser of bot/eligibility/parsers.py and the contact checks
of bot/cases/contact.py, with text built from the words and shapes the parsers look for
(numbers of any size, dates, months, units, separators) as well as arbitrary Unicode.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cases import contact
from bot.eligibility import parsers as p

TODAY = dt.date(2026, 11, 15)  # a fixed clock: no test depends on today's date
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = sorted(
    set(p.UNITS)
    | set(p.SCALES)
    | set(p.MONTHS)
    | {
        "il",
        "y",
        "a",
        "ca",
        "fait",
        "depuis",
        "jour",
        "jours",
        "semaine",
        "semaines",
        "mois",
        "an",
        "ans",
        "annee",
        "annees",
        "et",
        "demi",
        "quelques",
        "environ",
        "entre",
        "ou",
        "euros",
        "€",
        "net",
        "par",
        "smic",
        "mi",
        "temps",
        "k",
        "enfants",
        "enfant",
        "bebe",
        "jumeaux",
        "triples",
        "de",
        "un",
        "une",
        "hier",
        "avant",
        "le",
        "dernier",
        "derniere",
        "passe",
        "cette",
        "aucun",
        "non",
        "rien",
        "-",
        "/",
        ".",
        ",",
        "0",
        "00",
        "0000",
        "+33",
        "06",
        "@",
        "²",
        "٣",
        "１２",
        "\u00a0",
        "\u202f",
    }
)
NUMBERS = st.one_of(
    st.integers(min_value=-10, max_value=10**30).map(str),
    st.text(alphabet="0123456789", min_size=1, max_size=60),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
TOKEN = st.one_of(st.sampled_from(WORDS), NUMBERS, st.text(max_size=6))
SEP = st.sampled_from([" ", "/", ".", "-", ",", " / ", ""])
SHAPED = st.lists(st.tuples(TOKEN, SEP), max_size=12).map(lambda parts: "".join(t + s for t, s in parts))
TEXT = st.one_of(SHAPED, st.text(max_size=200))
TODAYS = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
OPTIONS = {"matin": ("matin", "le matin"), "soir": ("soir", "le soir"), "ex": ("ex", "mon ex mari"), "mari": ("mari",)}


@FUZZ
@given(TEXT)
def test_children_amount_and_short_text_never_raise(text):
    children = p.parse_children(text)
    assert children is None or (0 <= children.count <= p.MAX_CHILDREN and len(children.ages_months) <= children.count)
    amount = p.parse_amount(text)
    assert amount is None or 0 <= amount.low <= amount.high <= p.MAX_MONTHLY
    assert p.parse_amount(text, smic_net=1426.3) is None or True
    short = p.parse_short_text(text)
    assert short is None or len(short) <= 40
    p.is_skip(text)
    p.is_stop(text)


@FUZZ
@given(TEXT, st.one_of(st.just(TODAY), TODAYS))
def test_dates_never_raise_and_are_never_in_the_future(text, today):
    found = p.parse_date(text, today)
    assert found is None or found.earliest <= found.latest <= today


@FUZZ
@given(TEXT)
def test_choices_never_raise(text):
    choice = p.parse_choice(text, OPTIONS, priority=("ex",))
    assert choice is None or choice in OPTIONS
    choices = p.parse_choices(text, OPTIONS)
    assert choices is None or set(choices) <= set(OPTIONS)


@FUZZ
@given(st.lists(TOKEN, max_size=15))
def test_number_words_never_raise(tokens):
    p.words_to_number(tokens)
    p._number_runs(tokens)


PHONE_TEXT = st.one_of(TEXT, st.text(alphabet="+0123456789 .-/()٣１²", max_size=30))


@FUZZ
@given(PHONE_TEXT)
def test_contact_checks_never_raise_and_give_dialable_numbers(text):
    phone = contact.parse_phone(text)
    if phone is not None:
        assert phone.e164.startswith("+") and phone.e164[1:].isascii() and phone.e164[1:].isdigit()
    email = contact.parse_email(text)
    assert email is None or "@" in email


@pytest.mark.parametrize(
    "text",
    [
        "03/0000",
        "13/2026",
        "00/2020",
        "12/03/0000",
        "31/02/2026",
        "0/0/0",
        "il y a 100000 mois",
        "il y a 99999999999999999999 ans",
        "il y a 99999999999999999999 jours",
        "il y a 9999999999 semaines",
        "depuis 100000 ans",
        "il y a " + "9" * 5000 + " ans",
        "12 mars 0000",
        "le 3 mars 99999999999",
    ],
)
def test_impossible_dates_are_not_understood(text):
    assert p.parse_date(text, TODAY) is None


@pytest.mark.parametrize("text", ["9" * 400 + "k", "1" * 5000, "²", "9" * 400 + ",5k euros"])
def test_absurd_amounts_are_not_understood(text):
    assert p.parse_amount(text) is None


@pytest.mark.parametrize("text", ["9" * 5000 + " enfants", "un bébé de 99999999999999 mois"])
def test_absurd_children_are_not_understood(text):
    assert p.parse_children(text) is None


def test_ordinary_answers_still_read():
    assert p.parse_date("il y a 2 ans", TODAY) is not None
    assert p.parse_date("03/2026", TODAY) == p.DateRange(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert p.parse_date("12/03/26", TODAY) == p.DateRange(dt.date(2026, 3, 12), dt.date(2026, 3, 12))
    assert p.parse_amount("1,5k") == p.Amount(1500, 1500)
    assert p.parse_children("deux enfants") == p.Children(2)
    assert p.parse_children("² enfants") == p.Children(2)  # normalised like « 2 »: read, not a crash


def test_a_number_in_other_digits_is_not_stored_undialable():
    # str.isdigit() is true for « ١٢٣ » and « ０ »: such a number is refused and asked again.
    for text in ("06١٢٣٤٥٦٧٨", "010000000０", "+3361234567８"):
        assert contact.parse_phone(text) is None, text
