"""Whole conversations through the REST channel of a really started Rasa + action server."""

from __future__ import annotations

import uuid

import pytest


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_first_message_is_answered_with_one_discretion_line(bot):
    sender = new_sender()
    first = bot.say(sender, "c'est quoi l'aide universelle d'urgence ?")
    text = "\n".join(m["text"] for m in first)
    assert "CAF" in text
    # REST has no quick-exit button: the line says how to erase, and nothing about a button.
    assert first[-1]["text"].startswith("Discrétion") and "effacer" in first[-1]["text"].lower()
    assert "Sortie rapide" not in first[-1]["text"]
    assert not text.lower().startswith("bonjour")  # the answer comes first, no greeting wall
    assert any(b["payload"] == "/auu_conditions" for m in first for b in m.get("buttons", []))
    second = bot.text(sender, "c'est combien, il faut rembourser ?")
    assert "Discrétion" not in second
    assert "€" in second and "CAF" in second


def test_danger_in_the_middle_of_another_topic_wins(bot):
    sender = new_sender()
    assert "logement" in bot.text(sender, "je voudrais un logement social à mon nom").lower()
    urgent = bot.text(sender, "il rentre, il va me tuer")
    assert "17" in urgent and "114" in urgent and "112" in urgent
    assert "continuer" in urgent.lower()
    # and the conversation goes on
    assert "115" in bot.text(sender, "ou dormir ce soir avec mes enfants")


def test_danger_mixed_with_a_question_gets_the_emergency_answer(bot):
    urgent = bot.text(new_sender(), "il me frappe, et l'aide d'urgence c'est combien ?")
    assert "17" in urgent and "114" in urgent


@pytest.mark.parametrize(
    "message,number",
    [
        ("jveux plus vivre", "3114"),
        ("il s'en prend aux enfants", "119"),
        ("il est à côté je peux pas parler", "114"),
    ],
)
def test_each_emergency_gets_its_number(bot, message, number):
    assert number in bot.text(new_sender(), message)


def test_territory_asked_then_answered(bot):
    sender = new_sender()
    question = bot.text(sender, "est-ce que le pack nouveau départ existe chez moi ?")
    assert "département" in question.lower()
    answer = bot.text(sender, "Marseille")
    assert "Bouches-du-Rhône (13)" in answer
    # remembered for the conversation
    assert "Bouches-du-Rhône" in bot.text(sender, "et le pack existe ici ?")


@pytest.mark.parametrize(
    "place,label,exists",
    [
        ("dans le 95", "Val-d'Oise (95)", True),
        ("la Réunion", "La Réunion (974)", True),
        ("Lyon", "Rhône (69)", False),
        ("Guadeloupe", "Guadeloupe (971)", False),
    ],
)
def test_territory_is_told_honestly(bot, place, label, exists):
    sender = new_sender()
    bot.text(sender, "le pack nouveau départ existe dans ma ville ?")
    answer = bot.text(sender, place)
    assert label in answer
    assert ("pas encore" in answer.lower()) is (not exists)


def test_garbled_place_is_reasked_with_an_example_then_explained(bot):
    sender = new_sender()
    bot.text(sender, "le pack nouveau départ existe dans ma ville ?")
    again = bot.text(sender, "blablabla xkcd")
    assert "95" in again or "exemple" in again.lower()
    explained = bot.say(sender, "zzz qwerty")
    payloads = [b["payload"] for m in explained for b in m.get("buttons", [])]
    assert "/refuser_repondre" in payloads
    skipped = bot.text(sender, "je préfère ne pas répondre")
    assert "Val-d'Oise" in skipped  # where the pack exists, without her place


def test_unknown_input_is_never_a_dead_end(bot):
    sender = new_sender()
    first = bot.text(sender, "quelle est la capitale du Pérou")
    second = bot.say(sender, "raconte moi une blague")
    assert "3919" in "\n".join(m["text"] for m in second)
    assert any(b["payload"] == "/parler_humain" for m in second for b in m.get("buttons", []))
    assert first


def test_effacer_erases_the_conversation_on_the_server(bot):
    sender = new_sender()
    bot.text(sender, "j'habite dans le 95, le pack existe ?")
    confirmation = bot.text(sender, "effacer")
    assert "effac" in confirmation.lower()
    # Nothing left: the next message is a first message again, and the place is forgotten.
    after = bot.say(sender, "le pack nouveau départ existe chez moi ?")
    assert after[-1]["text"].startswith("Discrétion")
    assert "département" in "\n".join(m["text"] for m in after).lower()


def test_no_message_text_reaches_the_logs(bot):
    sender = new_sender()
    bot.text(sender, "zorglub quarante-deux il me frappe")
    bot.text(sender, "mon numéro zorglub 0612345678")
    for name, path in bot.logs.items():
        content = path.read_text(errors="replace")
        assert "zorglub" not in content, name
        assert "0612345678" not in content, name
        assert sender not in content, name
