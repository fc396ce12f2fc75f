"""The hardened REST channel: bad requests get a 4xx, and an outage never leaves her with silence."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest


def post(bot, body: bytes, content_type: str = "application/json") -> tuple[int, object]:
    req = urllib.request.Request(bot.url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"message": "bonjour"}',
        b'{"sender": "x", "message": 42}',
        b'{"sender": "", "message": "a"}',
    ],
)
def test_malformed_requests_get_a_4xx_with_a_french_message(bot, body):
    status, answer = post(bot, body)
    assert status == 400 and "invalide" in answer["error"]


def test_an_oversized_message_is_refused(bot):
    status, answer = post(bot, json.dumps({"sender": "x", "message": "a" * 5000}).encode())
    assert status == 413 and "trop long" in answer["error"]


def test_the_input_channel_cannot_be_chosen_by_the_client(bot):
    sender = f"test-{uuid.uuid4().hex[:12]}"
    status, answer = post(
        bot, json.dumps({"sender": sender, "message": "bonjour", "input_channel": "telegram"}).encode()
    )
    assert status == 200 and answer


def test_action_server_down_danger_still_answered_and_no_silence(bot_without_actions):
    bot = bot_without_actions
    sender = f"test-{uuid.uuid4().hex[:12]}"
    urgent = bot.text(sender, "il rentre, il va me tuer")
    assert "17" in urgent and "114" in urgent  # domain responses need no action server
    reply = bot.text(sender, "c'est quoi l'aide universelle d'urgence ?")
    assert "problème technique" in reply and "3919" in reply and "114" in reply
    content = bot.logs["rasa"].read_text(errors="replace")
    assert "aide universelle" not in content and sender not in content
