"""Telegram through the really started Rasa and action server, against a local fake of the
Bot API (tests/fake_telegram.py: Telegram's servers cannot be reached from here), with
python-telegram-bot pointed at it through ND_TELEGRAM_API_BASE.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.cases.crypto import KeyRing
from tests.conftest import ROOT, _start_bot
from tests.fake_telegram import FakeTelegram

TOKEN = "987654:E2E-" + secrets.token_urlsafe(12)
SECRET = secrets.token_urlsafe(24)
CASE_KEY, HMAC_KEY = secrets.token_bytes(32), secrets.token_bytes(32)
# Raw chat ids, one per test, none of which may appear in a log or a store.
CHATS = {
    name: 7364519200 + i
    for i, name in enumerate(
        ["forged", "greeting", "danger", "buttons", "menu", "erase", "erase_typed", "flood", "odd", "poll"]
    )
}
DANGER = "il rentre, il va me tuer"


@pytest.fixture(scope="module")
def fake():
    server = FakeTelegram(TOKEN).start()
    yield server
    server.stop()


def telegram_env(fake) -> dict:
    return {
        "ND_TELEGRAM_TOKEN": TOKEN,
        "ND_TELEGRAM_SECRET": SECRET,
        "ND_TELEGRAM_API_BASE": fake.base,
        "ND_CASE_KEYS": base64.b64encode(CASE_KEY).decode(),
        "ND_HMAC_KEY": base64.b64encode(HMAC_KEY).decode(),
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fake):
    api_token = secrets.token_urlsafe(16)
    for bot in _start_bot(
        tmp_path_factory, extra_env=telegram_env(fake), rasa_args=("--enable-api", f"--auth-token={api_token}")
    ):
        bot.rasa = bot.url.split("/webhooks")[0]
        bot.api_token = api_token
        yield bot


def conv(chat_id: int) -> str:
    return KeyRing([CASE_KEY], HMAC_KEY).conversation_id(str(chat_id), "telegram")


def post(stack, body, secret: str | None = SECRET) -> tuple[int, bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    req = urllib.request.Request(stack.rasa + "/webhooks/telegram/webhook", data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def message_update(fake, chat_id: int, text: str | None = None, chat_type: str = "private", **extra) -> dict:
    msg = {
        "message_id": fake.take_message_id(chat_id),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type, "first_name": "Test"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
        **extra,
    }
    if text is not None:
        msg["text"] = text
    return {"update_id": fake.new_update_id(), "message": msg}


def say(stack, fake, chat_id: int, text: str) -> list[dict]:
    """Her message; the assistant's messages sent in reply (params of each sendMessage)."""
    before = len(fake.calls)
    status, _ = post(stack, message_update(fake, chat_id, text))
    assert status == 200
    return [c.params for c in fake.calls[before:] if c.method == "sendMessage" and c.params["chat_id"] == chat_id]


def tracker(stack, chat_id: int) -> dict:
    url = f"{stack.rasa}/conversations/{conv(chat_id)}/tracker?token={stack.api_token}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def user_texts(stack, chat_id: int) -> list[str]:
    return [e.get("text") for e in tracker(stack, chat_id)["events"] if e["event"] == "user"]


def joined(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


def test_forged_updates_without_or_with_a_wrong_secret_are_refused_and_nothing_is_sent(stack, fake):
    chat = CHATS["forged"]
    before = len(fake.calls)
    assert post(stack, message_update(fake, chat, "bonjour"), secret=None)[0] == 403
    assert post(stack, message_update(fake, chat, "bonjour"), secret=SECRET[:-1] + "x")[0] == 403
    assert post(stack, message_update(fake, chat, "bonjour"), secret="")[0] == 403
    assert fake.calls[before:] == []
    assert user_texts(stack, chat) == []  # nothing reached Rasa


def test_a_greeting_is_answered_under_a_pseudonym_with_the_telegram_discretion_line_once(stack, fake):
    chat = CHATS["greeting"]
    first = say(stack, fake, chat, "bonjour")
    assert first, "no answer"
    text = joined(first)
    assert "/effacer" in text and "Telegram" in text and "Sortie rapide" not in text
    second = say(stack, fake, chat, "merci")
    assert second and "Telegram garde" not in joined(second) and "Elle reste dans Telegram" not in joined(second)
    # Rasa knows her by the HMAC of the chat id only.
    assert user_texts(stack, chat) == ["bonjour", "merci"]
    assert str(chat) not in json.dumps(tracker(stack, chat))


def test_a_danger_message_and_the_urgence_command_get_the_emergency_numbers(stack, fake):
    chat = CHATS["danger"]
    for text in (DANGER, "/urgence"):
        answer = joined(say(stack, fake, chat, text))
        assert "17" in answer and "114" in answer and "112" in answer


def test_buttons_round_trip_through_a_callback_query(stack, fake):
    chat = CHATS["buttons"]
    danger = say(stack, fake, chat, DANGER)
    with_keyboard = [m for m in danger if "reply_markup" in m]
    assert with_keyboard
    rows = with_keyboard[0]["reply_markup"]["inline_keyboard"]
    continuer = [b for row in rows for b in row if b["text"] == "Continuer"][0]
    query = {
        "update_id": fake.new_update_id(),
        "callback_query": {
            "id": "cbq-1",
            "chat_instance": "ci",
            "data": continuer["callback_data"],
            "from": {"id": chat, "is_bot": False, "first_name": "Test"},
            "message": {
                "message_id": with_keyboard[0]["_message_id"],
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": "…",
            },
        },
    }
    before = len(fake.calls)
    assert post(stack, query)[0] == 200
    after = fake.calls[before:]
    assert [c.params["callback_query_id"] for c in after if c.method == "answerCallbackQuery"] == ["cbq-1"]
    menu = [c.params for c in after if c.method == "sendMessage"]
    # The same menu as /aide in another conversation.
    aide = say(stack, fake, CHATS["menu"], "/aide")
    assert menu and menu[0]["text"] == aide[0]["text"]
    assert user_texts(stack, chat)[-1] == "/menu"


def test_effacer_deletes_every_message_of_both_sides_and_erases_the_conversation(stack, fake):
    chat = CHATS["erase"]
    say(stack, fake, chat, "bonjour")
    say(stack, fake, chat, DANGER)
    say(stack, fake, chat, "je vis dans le 95")
    assert len(user_texts(stack, chat)) == 3
    hers_and_bots = set(range(1, fake.next_id[chat] + 1))  # every message id of this chat so far
    report = joined(say(stack, fake, chat, "/effacer"))
    deleted = fake.deleted_ids(chat)
    assert set(deleted) == hers_and_bots | {fake.next_id[chat] - 1}  # her /effacer message too
    assert all(len(c.params["message_ids"]) <= 100 for c in fake.of("deleteMessages"))
    assert user_texts(stack, chat) == []
    assert "effacée de notre serveur" in report and "48 heures" in report and "notifications" in report


def test_typing_effacer_also_deletes_the_messages_on_her_phone(stack, fake):
    chat = CHATS["erase_typed"]
    say(stack, fake, chat, "bonjour")
    say(stack, fake, chat, "effacer")
    assert len(fake.deleted_ids(chat)) >= 3
    assert user_texts(stack, chat) == []


def test_a_429_from_telegram_is_retried_after_retry_after(stack, fake):
    chat = CHATS["flood"]
    fake.fail_next("sendMessage", retry_after=1)
    before = len(fake.calls)
    answer = say(stack, fake, chat, "bonjour")
    sends = [c for c in fake.calls[before:] if c.method == "sendMessage"]
    assert sends[0].params.get("_answered") == 429
    assert sends[1].at - sends[0].at >= 0.95
    assert answer[1:] and all("_message_id" in m for m in answer[1:])


def test_malformed_and_unexpected_updates_get_a_2xx_and_a_polite_answer_where_she_wrote(stack, fake):
    chat = CHATS["odd"]
    for body in (
        b"{pas du json",
        b"[]",
        b"",
        b'{"update_id": "x"}',
        b'{"update_id": 1, "message": {"chat": 5}}',
        b"\xff" * 10,
    ):
        assert post(stack, body)[0] == 200
    before = len(fake.calls)
    group = message_update(fake, -1001234, "bonjour", chat_type="supergroup")
    post(stack, group)
    post(
        stack,
        {
            "update_id": fake.new_update_id(),
            "channel_post": {"message_id": 3, "date": 1, "text": "x", "chat": {"id": -1009, "type": "channel"}},
        },
    )
    assert [c for c in fake.calls[before:] if c.method == "sendMessage"] == []
    sticker = {
        "file_id": "f",
        "file_unique_id": "u",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    for extra in (
        {"sticker": sticker},
        {"voice": {"file_id": "f", "file_unique_id": "u", "duration": 2}},
        {"photo": [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]},
    ):
        before = len(fake.calls)
        assert post(stack, message_update(fake, chat, **extra))[0] == 200
        sent = [c.params["text"] for c in fake.calls[before:] if c.method == "sendMessage"]
        assert any("Je ne lis que les messages écrits" in t for t in sent)
    edited = message_update(fake, chat, "bonjour")
    edited["edited_message"] = dict(edited.pop("message"), edit_date=int(time.time()))
    before = len(fake.calls)
    assert post(stack, edited)[0] == 200
    assert any("modifiés" in c.params["text"] for c in fake.calls[before:] if c.method == "sendMessage")


def test_polling_mode_feeds_the_same_handler(stack, fake):
    chat = CHATS["poll"]
    env = {**os.environ, **telegram_env(fake)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram", "poll", "--rasa-url", stack.rasa, "--timeout", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        fake.queue_update(message_update(fake, chat, "bonjour"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not fake.sent_ids(chat):
            time.sleep(0.3)
        assert fake.sent_ids(chat), "the polled message was not answered"
        assert fake.of("deleteWebhook")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert str(chat) not in out and TOKEN not in out


def test_set_webhook_registers_the_secret(fake, tmp_path):
    env = {**os.environ, **telegram_env(fake), "ND_STATE_DIR": str(tmp_path)}
    url = "https://assistant.exemple.fr/webhooks/telegram/webhook"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "telegram", "set-webhook", url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    hook = fake.of("setWebhook")[-1].params
    assert hook["url"] == url and hook["secret_token"] == SECRET
    assert "callback_query" in hook["allowed_updates"]
    assert [c["command"] for c in fake.of("setMyCommands")[-1].params["commands"]] == ["aide", "urgence", "effacer"]
    before = len(fake.calls)
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "telegram", "set-webhook", url],
        cwd=ROOT,
        env={**env, "ND_TELEGRAM_SECRET": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "ND_TELEGRAM_SECRET" in refused.stderr
    assert fake.calls[before:] == []


def test_the_raw_chat_id_and_the_token_appear_in_no_log_and_no_store(stack, fake):
    """Last of the module: after every conversation above."""
    secrets_seen = [str(c) for c in CHATS.values()] + [TOKEN, TOKEN.split(":", 1)[1], SECRET]
    logs = {name: path.read_text(errors="replace") for name, path in stack.logs.items()}
    assert "telegram: conversation erased" in logs["rasa"]  # the right log, written at the default level
    for name, text in logs.items():
        for value in secrets_seen + [DANGER, "je vis dans le 95"]:
            assert value not in text, f"{value!r} in the {name} log"
    for path in Path(stack.state_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in secrets_seen:
                assert value.encode() not in data, f"{value!r} in {path.name}"
    assert (Path(stack.state_dir) / "telegram.sqlite3").exists()
    for name in ("greeting", "danger", "buttons", "odd"):
        dump = json.dumps(tracker(stack, CHATS[name]))
        assert str(CHATS[name]) not in dump


def test_without_a_token_the_channel_is_inactive_and_rasa_still_starts(bot_without_actions):
    assert "ND_TELEGRAM_TOKEN" not in os.environ
    base = bot_without_actions.url.split("/webhooks")[0]
    req = urllib.request.Request(
        base + "/webhooks/telegram/webhook", data=b"{}", headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 404
