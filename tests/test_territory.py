"""Territory resolution and the honest answer about the pack."""

import pytest

from bot.answers import build_answers
from bot.knowledge.territory import ABSENT, ACTIVE, ANNOUNCED, OUT_OF_SCOPE, SETTING_UP


@pytest.fixture(scope="module")
def territories():
    return build_answers().territories


@pytest.mark.parametrize(
    "text,code",
    [
        ("95", "95"),
        ("dans le 95", "95"),
        ("Val d'Oise", "95"),
        ("val-d'oise", "95"),
        ("Cergy", "95"),
        ("95300", "95"),
        ("Marseille", "13"),
        ("j'habite à Marseille", "13"),
        ("bouches du rhone", "13"),
        ("la Réunion", "974"),
        ("reunion", "974"),
        ("974", "974"),
        ("Saint-Denis de la Réunion", "974"),
        ("le 9-3", "93"),
        ("le neuf-trois", "93"),
        ("9-3", "93"),
        ("la Guad", "971"),
        ("la Martinique", "972"),
        ("le 13", "13"),
        ("93200 Saint-Denis", "93"),
        ("Seine-Saint-Denis", "93"),
        ("97400", "974"),
        ("97600", "976"),
        ("97133", "977"),
        ("97150", "978"),
        ("98800", "988"),
        ("20200", "2B"),
        ("20090", "2A"),
        ("Mayotte", "976"),
        ("guadeloupe", "971"),
        ("Cayenne", "973"),
        ("Martinique", "972"),
        ("Dijon", "21"),
        ("Agen", "47"),
        ("Rouen", "76"),
        ("Lyon", "69"),
        ("Paris", "75"),
        ("Ajaccio", "2A"),
        ("20000", "2A"),
        ("Bastia", "2B"),
        ("dans le Nord", "59"),
        ("Nouméa", "988"),
        ("je suis dans le 13", "13"),
        ("Évry", "91"),
    ],
)
def test_places_people_write_are_resolved(territories, text, code):
    place = territories.resolve_place(text)
    assert place is not None and place.code == code


@pytest.mark.parametrize(
    "text",
    [
        "2 enfants",
        "c'est cher",
        "j'ai une réunion demain",
        "bonjour",
        "1200 euros",
        "un lot de couches",
        "la somme est de 300",
        "",
        "blabla",
    ],
)
def test_everyday_words_are_not_places(territories, text):
    assert territories.resolve_place(text) is None


@pytest.mark.parametrize(
    "code,status",
    [
        ("95", ACTIVE),
        ("974", ACTIVE),
        ("47", ACTIVE),
        ("21", ACTIVE),
        ("13", SETTING_UP),
        ("76", SETTING_UP),
        ("10", SETTING_UP),
        ("59", ANNOUNCED),
        ("85", ANNOUNCED),
        ("69", ABSENT),
        ("971", ABSENT),
        ("988", OUT_OF_SCOPE),
        ("987", OUT_OF_SCOPE),
        ("986", OUT_OF_SCOPE),
    ],
)
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
    assert all(code in unknown for code in ("(95)", "(974)", "(47)", "(21)"))
    # Bouches-du-Rhône is being set up: never « fonctionne depuis 2025 », never a promised delay.
    setting_up = answers.territory(t.by_code["13"], first_turn=False)[0].text
    assert "en cours de mise en place" in setting_up and "depuis 2025" not in setting_up
    seine_maritime = answers.territory(t.by_code["76"], first_turn=False)[0].text
    assert "72" not in seine_maritime and "en cours de mise en place" in seine_maritime
    announced = answers.territory(t.by_code["85"], first_turn=False)[0].text
    assert "pas encore confirmé" in announced


@pytest.mark.parametrize(
    "text,codes",
    [
        ("Saint-Denis", {"93", "974"}),
        ("j'habite à Saint-Denis", {"93", "974"}),
        ("Saint-Pierre", {"972", "974", "975"}),
        ("Saint-Louis", {"68", "971", "974"}),
        ("Sainte-Marie", {"972", "974"}),
        ("Corse", {"2A", "2B"}),
        ("20300", {"2A", "2B"}),
    ],
)
def test_shared_names_are_asked_back_not_guessed(territories, text, codes):
    found = territories.resolve(text)
    assert found.ambiguous and found.departement is None
    assert {d.code for d in found.candidates} == codes
    assert territories.resolve_place(text) is None  # the questionnaire re-asks instead of guessing


def test_saint_denis_gets_a_question_whose_buttons_resolve_it():
    import asyncio

    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionTerritoire

    answers = build_answers()

    def run(text, entities=()):
        tracker = Tracker(
            "s",
            {},
            {"text": text, "intent": {"name": "pack_territoire"}, "entities": list(entities)},
            [{"event": "user", "text": text, "input_channel": "rest"}],
            False,
            None,
            {},
            "action_listen",
        )
        dispatcher = CollectingDispatcher()
        events = asyncio.run(ActionTerritoire(answers).run(dispatcher, tracker, {}))
        return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}

    messages, slots = run("le pack existe à Saint-Denis ?")
    assert messages[0]["text"].startswith("Seine-Saint-Denis (93) ou La Réunion (974) ?")
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[:2] == ['/donner_lieu{"departement": "93"}', '/donner_lieu{"departement": "974"}']
    assert "departement" not in slots or slots["departement"] is None
    # Her click: the payload's entity, as Rasa parses it.
    messages, slots = run(payloads[0], [{"entity": "departement", "value": "93"}])
    assert slots["departement"] == "93"
    assert "Seine-Saint-Denis (93)" in messages[0]["text"] and "pas encore" in messages[0]["text"].lower()
