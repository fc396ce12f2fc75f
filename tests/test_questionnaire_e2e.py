"""The eligibility questionnaire, through the REST channel of a really started bot."""

from __future__ import annotations

import uuid


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def payloads(messages: list[dict]) -> list[str]:
    return [b["payload"] for m in messages for b in m.get("buttons", [])]


def joined(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def test_the_whole_questionnaire_in_her_own_words(bot):
    sender = new_sender()
    start = bot.say(sender, "suis-je concernée par l'aide d'urgence ?")
    assert "questions" in joined(start) and "Qui vous fait subir ces violences ?" in joined(start)
    assert "/refuser_repondre" in payloads(start) and "/arreter" in payloads(start)
    assert "Avez-vous un de ces documents" in bot.text(sender, "mon ex")
    assert "De quand date" in bot.text(sender, "j'ai porté plainte")
    assert "France de façon régulière" in bot.text(sender, "le mois dernier")
    assert "12 derniers mois" in bot.text(sender, "oui")
    assert "Combien d'enfants" in bot.text(sender, "non")
    assert "Combien gagnez-vous" in bot.text(sender, "j'ai un bébé de 8 mois et un grand de 7 ans")
    summary = bot.say(sender, "environ 900")
    text = joined(summary)
    assert "Aide universelle d'urgence : probablement éligible." in text
    assert "€" in text and "la CAF calcule le montant exact" in text
    assert "don" in text
    assert "/parler_humain" in payloads(summary)
    # only the aid she asked about: no question about tonight or her département
    assert "Pack nouveau départ" not in text


def test_a_garbled_answer_is_reasked_then_explained_then_skipped(bot):
    sender = new_sender()
    start = bot.text(sender, "à quoi ai-je droit pour un soutien psy ?")  # one question: how she feels
    assert "Comment vous sentez-vous" in start
    again = bot.text(sender, "xkcd zorg")
    assert "pas bien compris" in again and "Comment vous sentez-vous" in again
    explained = bot.say(sender, "qwerty plop")
    assert "Je le demande pour" in joined(explained)
    assert "/refuser_repondre" in payloads(explained)
    summary = bot.text(sender, "je préfère ne pas répondre")
    assert "Soutien psychologique : probablement éligible." in summary
    assert "3114" in summary


def test_danger_in_the_middle_wins_then_she_resumes_where_she_was(bot):
    sender = new_sender()
    bot.text(sender, "est-ce que j'ai droit à l'aide de la caf ?")
    assert "Avez-vous un de ces documents" in bot.text(sender, "mon mari")
    urgent = bot.text(sender, "il arrive il va me tuer")
    assert "17" in urgent and "114" in urgent
    assert "documents" not in urgent  # no question pushed on her now
    menu = bot.say(sender, "/menu")  # the « Continuer » button
    assert "reprendre" in joined(menu).lower() and "/eligibilite" in payloads(menu)
    resumed = bot.text(sender, "oui")
    assert "On reprend" in resumed and "Avez-vous un de ces documents" in resumed
    # her first answer was kept: the question after the proof comes next
    assert "De quand date" in bot.text(sender, "une ordonnance de protection")


def test_a_question_in_the_middle_is_answered_then_the_question_comes_back(bot):
    sender = new_sender()
    bot.text(sender, "est-ce que j'ai droit à une place en crèche ?")
    reply = bot.text(sender, "comment on fait la demande de l'aide universelle d'urgence ?")
    assert "caf.fr" in reply.lower()  # the question is answered
    assert "On reprend" in reply and "Combien d'enfants" in reply


def test_she_can_stop_and_the_questionnaire_waits(bot):
    sender = new_sender()
    bot.text(sender, "à quoi ai-je droit ?")
    stopped = bot.say(sender, "/arreter")
    assert "on arrête" in joined(stopped).lower() and "/eligibilite" in payloads(stopped)
    assert "CAF" in bot.text(sender, "comment demander l'aide d'urgence ?")


def test_no_answer_reaches_the_logs(bot):
    sender = new_sender()
    bot.text(sender, "est-ce que j'ai droit à l'aide de la caf ?")
    bot.text(sender, "mon ex zorglubien")
    bot.text(sender, "une plainte")
    bot.text(sender, "le 17/10/2026")
    for name, path in bot.logs.items():
        content = path.read_text(errors="replace")
        assert "zorglub" not in content and "17/10/2026" not in content, name
        assert sender not in content, name


def test_a_shared_place_name_is_asked_back_with_a_button_each(bot):
    sender = new_sender()
    reply = bot.text(sender, "le pack nouveau départ, est-ce que j'y ai droit ?")
    for answer in ("oui", "oui"):  # a safe place tonight comes first
        if "Dans quel département" in reply:
            break
        reply = bot.text(sender, answer)
    assert "Dans quel département" in reply
    asked = bot.say(sender, "Saint-Denis")
    assert "Seine-Saint-Denis (93) ou La Réunion (974) ?" in joined(asked)
    assert {"Seine-Saint-Denis (93)", "La Réunion (974)"} <= set(payloads(asked))
    assert "pas bien compris" not in joined(asked)  # a shared name is not a garbled answer
    after = bot.text(sender, "Seine-Saint-Denis (93)")
    assert "Dans quel département" not in after and "Seine-Saint-Denis (93) ou" not in after
