"""The handoff to a référent through the REST channel: consent, contact plan, case, withdrawal."""

from __future__ import annotations

import sqlite3
import uuid


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def payloads(messages: list[dict]) -> list[str]:
    return [b["payload"] for m in messages for b in m.get("buttons", [])]


def raw_database(bot) -> str:
    """Every value of every table, as text: what someone reading the file would see."""
    path = bot.state_dir / "cases.sqlite3"
    if not path.exists():
        return ""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        return "\n".join(repr(row) for t in tables for row in db.execute(f"select * from {t}"))


def statuses(bot) -> list[str]:
    path = bot.state_dir / "cases.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("select status from cases")]


def test_consent_then_a_safe_contact_plan_then_an_encrypted_case(bot):
    sender = new_sender()
    before = len(statuses(bot))
    offer = bot.say(sender, "je voudrais parler à quelqu'un")
    text = "\n".join(m["text"] for m in offer)
    assert "3919" in text and "rien n'est enregistré avant votre accord" in text
    assert "/consentir_contact" in payloads(offer)
    assert len(statuses(bot)) == before  # nothing stored on the offer
    assert "Comment préférez-vous être contactée" in bot.text(sender, "oui")
    assert "À quel numéro" in bot.text(sender, "par sms")
    again = bot.text(sender, "0612")
    assert "pas bien compris" in again and "06 12 34 56 78" in again
    assert "À quels moments" in bot.text(sender, "c'est le 06 12 34 56 78")
    assert "laisser un message" in bot.text(sender, "le matin ou le soir")
    assert "mot de code" in bot.text(sender, "non")
    assert "Comment la personne peut-elle vous appeler" in bot.text(sender, "tournesol")
    recap = bot.say(sender, "Sarah")
    recap_text = "\n".join(m["text"] for m in recap)
    assert "+33612345678" in recap_text and "tournesol" in recap_text and "Le matin" in recap_text
    assert len(statuses(bot)) == before  # still nothing before the confirmation
    done = bot.text(sender, "/confirmer_contact")
    assert "Votre référence" in done and "3919" in done
    assert statuses(bot).count("nouveau") >= 1
    raw = raw_database(bot)
    for personal in ("612345678", "tournesol", "Sarah", sender):
        assert personal not in raw
    # « annuler ma demande » withdraws and erases
    assert "annulée" in bot.text(sender, "annuler ma demande")
    assert "retire" in statuses(bot)
    assert "Je ne trouve pas de demande" in bot.text(sender, "annuler ma demande")


def test_refusing_stores_nothing(bot):
    sender = new_sender()
    before = len(statuses(bot))
    bot.text(sender, "est-ce qu'un référent peut me rappeler ?")
    assert "3919" in bot.text(sender, "/nier")
    assert len(statuses(bot)) == before


def test_danger_during_the_contact_form_wins_then_she_can_go_on(bot):
    sender = new_sender()
    bot.text(sender, "je veux parler à quelqu'un")
    bot.text(sender, "/consentir_contact")
    assert "À quel numéro" in bot.text(sender, "un appel")
    urgent = bot.text(sender, "il est là je peux pas parler")
    assert "114" in urgent and "numéro" not in urgent
    assert "À quel numéro" in bot.text(sender, "oui")  # the offer stands: « oui » resumes


def test_stopping_the_contact_form_keeps_nothing(bot):
    sender = new_sender()
    before = len(statuses(bot))
    bot.text(sender, "rappelez-moi svp")
    bot.text(sender, "/consentir_contact")
    bot.text(sender, "par mail")
    assert "je n'envoie rien" in bot.text(sender, "/arreter")
    assert len(statuses(bot)) == before


def test_no_contact_detail_reaches_the_logs(bot):
    sender = new_sender()
    bot.text(sender, "je veux parler à quelqu'un")
    bot.text(sender, "/consentir_contact")
    bot.text(sender, "par mail")
    bot.text(sender, "zorglub.secret@exemple.fr")
    for name, path in bot.logs.items():
        content = path.read_text(errors="replace")
        assert "zorglub" not in content, name
        assert sender not in content, name


def test_she_withdraws_with_her_reference_and_code_word_from_a_new_conversation(bot):
    first = new_sender()
    bot.text(first, "je voudrais parler à quelqu'un")
    bot.text(first, "oui")
    bot.text(first, "par sms")
    bot.text(first, "c'est le 06 12 34 56 78")
    bot.text(first, "le matin")
    bot.text(first, "non")
    bot.text(first, "Mimosa")
    bot.text(first, "Sarah")
    done = bot.text(first, "/confirmer_contact")
    reference = done.split("Votre référence : ")[1][:8]
    other = new_sender()  # another conversation, another device
    assert "écrivez sa référence" in bot.text(other, "annuler ma demande")
    assert "mot de code" in bot.text(other, reference.lower())
    wrong = bot.text(other, "Tulipe")
    assert "Je ne trouve pas de demande avec cette référence et ce mot de code" in wrong
    assert "nouveau" in statuses(bot)
    bot.text(other, "annuler ma demande")
    bot.text(other, reference)
    assert "annulée" in bot.text(other, "mimosa")
    assert "retire" in statuses(bot)
