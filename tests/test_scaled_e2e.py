"""Two Rasa workers sharing conversations through Redis: the conversation and its erasure hold."""

from __future__ import annotations

import uuid

import redis

from bot.cases.crypto import load_keyring


def test_a_conversation_spans_workers_and_effacer_erases_it_in_redis(scaled_bot):
    bot = scaled_bot
    sender = f"test-{uuid.uuid4().hex[:12]}"
    assert "département" in bot.text(sender, "est-ce que le pack nouveau départ existe chez moi ?").lower()
    # the pending question survives whichever worker takes the next turn
    for place, label in (("Marseille", "Bouches-du-Rhône (13)"),):
        assert label in bot.text(sender, place)
    assert "17" in bot.text(sender, "il rentre, il va me tuer")
    red = redis.StrictRedis(host="127.0.0.1", port=6379, db=12)
    # Conversations are filed under a keyed pseudonym, never the raw id.
    key = "nd:conv:" + load_keyring({"ND_STATE_DIR": str(bot.state_dir)}).conversation_id(sender, "tracker")
    keys = [k.decode() for k in red.keys("*")]
    assert key in keys and not any(sender in k for k in keys)
    assert 0 < red.ttl(key) <= 30 * 60
    assert "effac" in bot.text(sender, "effacer").lower()
    assert key.encode() not in red.keys("*")
    assert bot.say(sender, "bonjour")[-1]["text"].startswith("Discrétion")  # a first message again


def test_many_turns_from_many_conversations_all_answered(scaled_bot):
    senders = [f"test-{uuid.uuid4().hex[:12]}" for _ in range(6)]
    for turn in ("c'est quoi l'aide universelle d'urgence ?", "et le montant ?", "merci"):
        for sender in senders:
            assert scaled_bot.say(sender, turn)
