"""Answer parsers: what people write is read right, or refused, never misread."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.eligibility.parsers import (
    Amount,
    Children,
    DateRange,
    is_skip,
    parse_amount,
    parse_children,
    parse_choice,
    parse_date,
    words_to_number,
)

TODAY = dt.date(2026, 11, 28)
SMIC = 1426.30


@pytest.mark.parametrize(
    "text, expected",
    [
        ("deux enfants", Children(2)),
        ("2", Children(2)),
        ("aucun", Children(0)),
        ("pas d'enfants", Children(0)),
        ("Non", Children(0)),
        ("j'ai un bébé de 8 mois et un grand de 7 ans", Children(2, (8, 84))),
        ("3 enfants de 2, 5 et 9 ans", Children(3, (24, 60, 108))),
        ("des jumeaux de 4 ans", Children(2, (48, 48))),
        ("une fille", Children(1)),
        ("mes deux filles", Children(2)),
        ("ma fille a 3 ans", Children(1, (36,))),
        ("un", Children(1)),
        ("2 enfants de 3 ans", Children(2, (36,))),
        ("jai 1 enfant", Children(1)),
        ("trois", Children(3)),
    ],
)
def test_children_as_people_write_them(text, expected):
    assert parse_children(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "beaucoup",
        "plusieurs",
        "2 ou 3",
        "blabla",
        "",
        "1 enfant de 3 et 5 ans",
        "25 enfants",
        "-2",
        "un fils de 70 ans",
        "je sais pas trop",
    ],
)
def test_children_refused_rather_than_guessed(text):
    assert parse_children(text) is None


def test_children_under_an_age():
    assert Children(2, (8, 84)).under(3) == 1
    assert Children(2, (8, 300)).under(21) == 1
    assert Children(2, (8,)).under(3) is None  # one age missing, could be under
    assert Children(2, (8, 12)).under(3) == 2


@pytest.mark.parametrize(
    "text, low, high",
    [
        ("1 200 €", 1200, 1200),
        ("1200 euros net", 1200, 1200),
        ("1200€", 1200, 1200),
        ("environ 900", 810, 990),
        ("à peu près 1000 euros", 900, 1100),
        ("entre 800 et 1000", 800, 1000),
        ("800 à 1000 €", 800, 1000),
        ("800-1000", 800, 1000),
        ("1.200", 1200, 1200),
        ("1 200,50 €", 1200.5, 1200.5),
        ("rien", 0, 0),
        ("je n'ai pas de revenus", 0, 0),
        ("0", 0, 0),
        ("deux mille", 2000, 2000),
        ("mille deux cents", 1200, 1200),
        ("neuf cents euros", 900, 900),
        ("18000 par an", 1500, 1500),
        ("1,5k", 1500, 1500),
        ("900€/mois", 900, 900),
    ],
)
def test_amounts_as_people_write_them(text, low, high):
    assert parse_amount(text, SMIC) == Amount(low, high)


def test_the_smic_as_an_answer():
    amount = parse_amount("je suis au smic", SMIC)
    assert amount is not None and amount.low < SMIC < amount.high


@pytest.mark.parametrize(
    "text",
    [
        "beaucoup",
        "pas mal",
        "-500",
        "9999999",
        "2 enfants et 1200",
        "1200 et 300",
        "je gagne bien",
        "",
    ],
)
def test_amounts_refused_rather_than_guessed(text):
    assert parse_amount(text, SMIC) is None


@pytest.mark.parametrize(
    "text, earliest, latest",
    [
        ("le mois dernier", dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        ("en mars", dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        ("en décembre", dt.date(2025, 12, 1), dt.date(2025, 12, 31)),  # the last December, not the next
        ("en mars 2025", dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
        ("le 12/03/2026", dt.date(2026, 3, 12), dt.date(2026, 3, 12)),
        ("12/03/26", dt.date(2026, 3, 12), dt.date(2026, 3, 12)),
        ("le 12 mars", dt.date(2026, 3, 12), dt.date(2026, 3, 12)),
        ("hier", dt.date(2026, 11, 27), dt.date(2026, 11, 27)),
        ("avant-hier", dt.date(2026, 11, 26), dt.date(2026, 11, 26)),
        ("il y a 2 ans", dt.date(2024, 8, 28), dt.date(2025, 2, 28)),
        ("il y a deux ans", dt.date(2024, 8, 28), dt.date(2025, 2, 28)),
        ("il y a 6 mois", dt.date(2026, 5, 13), dt.date(2026, 6, 12)),
        ("il y a 3 semaines", dt.date(2026, 11, 4), dt.date(2026, 11, 10)),
        ("l'année dernière", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ("en 2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("la semaine dernière", dt.date(2026, 11, 16), dt.date(2026, 11, 22)),
        ("ce matin", TODAY, TODAY),
        ("03/2026", dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
    ],
)
def test_dates_as_people_write_them(text, earliest, latest):
    assert parse_date(text, TODAY) == DateRange(earliest, latest)


@pytest.mark.parametrize(
    "text",
    [
        "dans 2 mois",
        "demain",
        "le 12/03/2027",
        "31/02/2026",
        "bientôt",
        "n'importe quoi",
        "en mars ou en avril",
        "il y a longtemps",
        "en 1950",
        "",
    ],
)
def test_dates_refused_rather_than_guessed(text):
    assert parse_date(text, TODAY) is None


@pytest.mark.parametrize(
    "text",
    [
        "je préfère ne pas répondre",
        "Je prefere pas repondre",
        "je sais pas",
        "je ne sais pas",
        "on passe",
        "aucune idée",
        "/refuser_repondre",
        "question suivante",
    ],
)
def test_skipping_is_always_understood(text):
    assert is_skip(text)


@pytest.mark.parametrize("text", ["non", "2", "oui", "rien", "le mois dernier"])
def test_answers_are_not_mistaken_for_a_skip(text):
    assert not is_skip(text)


OPTIONS = {
    "conjoint": ("mari", "mon mari", "compagnon"),
    "ex": ("ex", "ex mari", "mon ex"),
    "autre": ("pere", "mon pere"),
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mon mari", "conjoint"),
        ("Mon ex-mari", "ex"),
        ("c'est mon ex", "ex"),
        ("2", "ex"),
        ("mon père", "autre"),
        ("mon mari et mon père", None),
        ("le voisin", None),
        ("9", None),
    ],
)
def test_choices(text, expected):
    assert parse_choice(text, OPTIONS) == expected


def test_choice_priority_when_two_are_named():
    options = {"plainte": ("plainte",), "main_courante": ("main courante",), "aucune": ("pas de plainte",)}
    priority = ("plainte", "main_courante", "aucune")
    assert parse_choice("une main courante et une plainte", options, priority) == "plainte"
    assert parse_choice("pas de plainte, juste une main courante", options, priority) == "main_courante"


def test_number_words():
    assert words_to_number(["quatre", "vingt"]) == 80
    assert words_to_number(["deux", "mille", "cinq", "cents"]) == 2500
    assert words_to_number(["bonjour"]) is None


@pytest.mark.parametrize(
    "text",
    [
        "stop",
        "Arrêter les questions",
        "/arreter",
        "on arrête là",
        "plus de questions",
        "je veux arrêter le questionnaire",
        "STOP STOP",
    ],
)
def test_stopping_the_questionnaire(text):
    from bot.eligibility.parsers import is_stop

    assert is_stop(text)


@pytest.mark.parametrize("text", ["le mois dernier", "il a arrêté de travailler", "non", "fin mars", "2"])
def test_answers_are_not_mistaken_for_stopping(text):
    from bot.eligibility.parsers import is_stop

    assert not is_stop(text)
