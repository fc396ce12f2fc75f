"""Territory resolution and the honest answer about the pack."""
import pytest

from bot.answers import build_answers
from bot.knowledge.territory import ABSENT, ACTIVE, ANNOUNCED, OUT_OF_SCOPE


@pytest.fixture(scope="module")
def territories():
    return build_answers().territories


@pytest.mark.parametrize("text,code", [
    ("95", "95"), ("dans le 95", "95"), ("Val d'Oise", "95"), ("val-d'oise", "95"), ("Cergy", "95"),
    ("95300", "95"), ("Marseille", "13"), ("j'habite à Marseille", "13"), ("bouches du rhone", "13"),
    ("la Réunion", "974"), ("reunion", "974"), ("974", "974"), ("Saint-Denis", "974"),
    ("Mayotte", "976"), ("guadeloupe", "971"), ("Cayenne", "973"), ("Martinique", "972"),
    ("Dijon", "21"), ("Agen", "47"), ("Rouen", "76"), ("Lyon", "69"), ("Paris", "75"),
    ("Ajaccio", "2A"), ("20000", "2A"), ("Bastia", "2B"), ("dans le Nord", "59"), ("Nouméa", "988"),
    ("je suis dans le 13", "13"), ("Évry", "91"),
])
def test_places_people_write_are_resolved(territories, text, code):
    place = territories.resolve_place(text)
    assert place is not None and place.code == code


@pytest.mark.parametrize("text", [
    "2 enfants", "c'est cher", "j'ai une réunion demain", "bonjour", "1200 euros", "un lot de couches",
    "la somme est de 300", "", "blabla",
])
def test_everyday_words_are_not_places(territories, text):
    assert territories.resolve_place(text) is None


@pytest.mark.parametrize("code,status", [
    ("95", ACTIVE), ("974", ACTIVE), ("47", ACTIVE), ("21", ACTIVE), ("13", ACTIVE),
    ("59", ANNOUNCED), ("69", ABSENT), ("971", ABSENT), ("988", OUT_OF_SCOPE),
])
def test_pack_status(territories, code, status):
    assert territories.pack_status(territories.by_code[code]).statut == status


def test_answers_say_honestly_where_it_does_not_exist():
    answers = build_answers()
    t = answers.territories
    absent = answers.territory(t.by_code["69"], first_turn=False)[0].text
    assert "Rhône (69)" in absent and "pas encore" in absent.lower()
    active = answers.territory(t.by_code["95"], first_turn=False)[0].text
    assert "Val-d'Oise (95)" in active and "pas encore" not in active.lower()
    unknown = answers.territory(None, first_turn=False)[0].text
    assert all(code in unknown for code in ("(95)", "(974)", "(13)"))
