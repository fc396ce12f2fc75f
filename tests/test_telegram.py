"""The Telegram connector's parts, in process, against the local fake of the Bot API.

The whole path through the really started Rasa is in test_telegram_e2e.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import socket
import threading
import time
from types import SimpleNamespace

import pytest

from bot.cases.crypto import CryptoError, KeyRing
from connectors import guard
from connectors import telegram as tg
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token_abc"
CHAT = 5550192837
UPDATE_IDS = itertools.count(1)


@pytest.fixture(scope="module")
def fake():
    server = FakeTelegram(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture()
def ring():
    return KeyRing([secrets.token_bytes(32)], secrets.token_bytes(32))


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings(fake, timeout: float = 5.0) -> tg.Settings:
    return tg.Settings(token=TOKEN, secret="s3cret", api_base=fake.base, timeout=timeout)


class Store:
    """Stands for Rasa's tracker store: no events, erase recorded."""

    def __init__(self):
        self.erased = []

    async def retrieve(self, sender_id):
        return None

    def erase(self, sender_id):
        self.erased.append(sender_id)


def channel(fake, ring, tmp_path, answer=lambda text: [{"text": "Réponse."}], clock=None):
    ch = tg.TelegramInput(
        settings(fake), keyring=ring, log=tg.MessageLog(tmp_path / "tg.sqlite3", ring), clock=clock or time.monotonic
    )
    store = Store()
    ch.app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store, lock_store=None)))
    seen = []

    async def on_new_message(message):
        seen.append(message)
        for m in answer(message.text):
            await message.output_channel.send_response(message.sender_id, dict(m))

    return ch, seen, on_new_message, store


def update(text=None, chat_type="private", **message):
    msg = {
        "message_id": 1,
        "date": 1_800_000_000,
        "chat": {"id": CHAT, "type": chat_type},
        "from": {"id": CHAT, "is_bot": False, "first_name": "A"},
        **message,
    }
    if text is not None:
        msg["text"] = text
    return {"update_id": next(UPDATE_IDS), "message": msg}


def handle(ch, on_new_message, data) -> None:
    import json

    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    asyncio.run(ch.handle(body, on_new_message))


def texts(fake) -> list[str]:
    return [c.params["text"] for c in fake.of("sendMessage") if c.params.get("_message_id")]


# -- pieces -------------------------------------------------------------------
def test_long_text_is_split_within_telegrams_limit_at_word_boundaries():
    text = " ".join(["violence"] * 1200) + " 🙂" * 50
    pieces = tg.split_text(text)
    assert len(pieces) == 3
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert tg.split_text("court") == ["court"]


def test_long_button_payloads_travel_as_a_digest_and_come_back():
    long_payload = '/pack_territoire{"departement": "971", "commune": "Pointe-à-Pitre les Abymes"}'
    data = tg.callback_data(long_payload)
    assert len(data.encode()) <= 64 and data != long_payload
    assert tg.resolve_callback(data, ["/menu", long_payload]) == long_payload
    assert tg.resolve_callback(data, ["/menu"]) == ""  # not offered here: nothing
    assert tg.callback_data("/menu") == "/menu"


def test_message_ids_are_sealed_per_conversation_and_kept_48_hours(tmp_path, ring):
    clock = Clock()
    log = tg.MessageLog(tmp_path / "tg.sqlite3", ring, clock=clock)
    log.add("conv-a", [11, 12])
    clock.now += 47 * 3600
    log.add("conv-a", [13])
    log.add("conv-b", [99])
    assert log.message_ids("conv-a") == [11, 12, 13]
    import sqlite3

    rows = sqlite3.connect(tmp_path / "tg.sqlite3").execute("SELECT conv, sealed FROM messages").fetchall()
    assert all(sealed.startswith("nd1.") for _, sealed in rows)
    # A sealed id moved to another conversation no longer opens.
    sealed_a = [s for c, s in rows if c == "conv-a"][0]
    with pytest.raises(CryptoError):
        ring.decrypt(sealed_a, case_id="conv-b", field="telegram.message_id")
    clock.now += 2 * 3600  # 49 h after the first two: Telegram would refuse them, they are gone
    assert log.message_ids("conv-a") == [13]
    log.erase("conv-a")
    assert log.message_ids("conv-a") == [] and log.message_ids("conv-b") == [99]


def test_a_429_is_retried_after_retry_after(fake):
    fake.reset()
    fake.fail_next("sendMessage", retry_after=1)
    sender = tg.Sender(tg.make_bot(settings(fake)), 5.0)
    ids = asyncio.run(sender.send(CHAT, {"text": "Bonjour"}))
    calls = fake.of("sendMessage")
    assert [c.params.get("_answered") for c in calls] == [429, None]
    assert calls[1].at - calls[0].at >= 0.95
    assert ids == [calls[1].params["_message_id"]]


def test_a_call_that_hangs_times_out_is_retried_then_logged_by_type_only(caplog):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():  # accepts and never answers
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        s = tg.Settings(TOKEN, "s", f"http://127.0.0.1:{listener.getsockname()[1]}/bot", timeout=0.5)
        waits = []

        async def no_wait(seconds):
            waits.append(seconds)

        sender = tg.Sender(tg.make_bot(s), s.timeout, sleep=no_wait)
        started = time.monotonic()
        with caplog.at_level(logging.INFO):
            result = asyncio.run(sender.call("send_message", chat_id=CHAT, text="mon adresse secrète"))
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
        for conn in accepted:
            conn.close()
    assert result is None
    assert len(waits) == tg.ATTEMPTS - 1  # retried
    assert elapsed < 5  # every attempt bounded by the timeout
    assert "send_message failed after 3 attempts (TimedOut)" in caplog.text
    assert str(CHAT) not in caplog.text and "secrète" not in caplog.text and TOKEN not in caplog.text


# -- the update handler, with a stand-in for Rasa ---------------------------------------
def test_commands_are_mapped_and_typed_payloads_are_read_as_text(fake, ring, tmp_path):
    ch, seen, on_new, _ = channel(fake, ring, tmp_path)
    for text in ("/start", "/aide@NouveauDepartBot", "/urgence", "/urgence_suicide", "bonjour"):
        handle(ch, on_new, update(text))
    assert [m.text for m in seen] == ["/saluer", "/menu", "/urgence_danger", "urgence_suicide", "bonjour"]
    assert {m.sender_id for m in seen} == {ring.conversation_id(str(CHAT), "telegram")}
    assert all(m.input_channel == "telegram" and m.output_channel.name() == "telegram" for m in seen)


def test_group_chats_and_channel_posts_are_ignored_unreadable_updates_too(fake, ring, tmp_path):
    fake.reset()
    ch, seen, on_new, _ = channel(fake, ring, tmp_path)
    handle(ch, on_new, update("bonjour", chat_type="group"))
    handle(ch, on_new, update("bonjour", chat_type="supergroup"))
    handle(
        ch,
        on_new,
        {
            "update_id": next(UPDATE_IDS),
            "channel_post": {"message_id": 1, "date": 1, "text": "x", "chat": {"id": -100, "type": "channel"}},
        },
    )
    for body in (
        b"{pas du json",
        b"[1, 2]",
        b"null",
        b'{"update_id": "x", "message": 3}',
        b"\xff\xfe",
        b'{"update_id": 4}',
        b'{"update_id": 5, "message": {"chat": "?"}}',
    ):
        handle(ch, on_new, body)
    assert seen == [] and fake.of("sendMessage") == []


def test_stickers_photos_voice_and_edits_get_a_polite_text_answer(fake, ring, tmp_path):
    fake.reset()
    ch, seen, on_new, _ = channel(fake, ring, tmp_path)
    sticker = {
        "file_id": "f",
        "file_unique_id": "u",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    handle(ch, on_new, update(sticker=sticker))
    handle(ch, on_new, update(photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]))
    handle(ch, on_new, update(voice={"file_id": "f", "file_unique_id": "u", "duration": 3}))
    edited = update("bonjour")
    edited["edited_message"] = dict(edited.pop("message"), edit_date=1_800_000_100)
    handle(ch, on_new, edited)
    sent = texts(fake)
    assert seen == []
    assert sent.count(tg.ONLY_TEXT) == 3 and tg.EDITED_TEXT in sent


def test_too_long_and_too_fast_messages_are_answered_calmly_without_reaching_rasa(fake, ring, tmp_path, monkeypatch):
    fake.reset()
    monkeypatch.setenv("ND_RATE_PER_CONVERSATION", "3")
    clock = Clock(100.0)
    ch, seen, on_new, _ = channel(fake, ring, tmp_path, clock=clock)
    handle(ch, on_new, update("x" * (guard.MAX_MESSAGE_CHARS + 1)))
    handle(ch, on_new, update("un"))
    handle(ch, on_new, update("deux"))
    handle(ch, on_new, update("trois"))
    handle(ch, on_new, update("/urgence"))  # danger is never held back
    clock.now += 61
    handle(ch, on_new, update("quatre"))
    assert [m.text for m in seen] == ["un", "deux", "/urgence_danger", "quatre"]
    sent = texts(fake)
    assert guard.TOO_LONG_TEXT in sent and guard.TOO_FAST_TEXT in sent


def test_answers_are_split_buttons_become_an_inline_keyboard_and_the_telegram_line_comes_once(fake, ring, tmp_path):
    fake.reset()
    long_text = "Voici. " * 1000
    buttons = [{"title": "Continuer", "payload": "/menu"}, {"title": "Effacer", "payload": "/effacer"}]
    ch, _, on_new, _ = channel(fake, ring, tmp_path, answer=lambda text: [{"text": long_text, "buttons": buttons}])
    handle(ch, on_new, update("bonjour"))
    handle(ch, on_new, update("encore"))
    calls = [c for c in fake.of("sendMessage") if c.params.get("_message_id")]
    first_turn = calls[:3]
    assert "reply_markup" not in first_turn[0].params
    keyboard = first_turn[1].params["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in keyboard] == [["/menu"], ["/effacer"]]
    assert first_turn[2].params["text"] == tg.KEPT_BY_TELEGRAM
    assert [c.params["text"] for c in calls].count(tg.KEPT_BY_TELEGRAM) == 1
    assert len(calls) == 5


def test_erase_deletes_both_sides_in_batches_of_100_and_says_what_it_could_not(fake, ring, tmp_path):
    fake.reset()
    ch, _, on_new, store = channel(fake, ring, tmp_path)
    conv = ring.conversation_id(str(CHAT), "telegram")
    ch.message_log.add(conv, range(1, 151))  # her messages and the assistant's, earlier today
    handle(ch, on_new, update("/effacer", message_id=151))
    batches = [c.params["message_ids"] for c in fake.of("deleteMessages")]
    assert [len(b) for b in batches] == [100, 51]
    assert sorted(sum(batches, [])) == list(range(1, 152))
    assert store.erased == [conv]
    report = texts(fake)[-1]
    assert "151" in report and "48 heures" in report and "notifications" in report and "autre appareil" in report
    # Only the report is left, kept for a later /effacer.
    assert ch.message_log.message_ids(conv) == [fake.of("sendMessage")[-1].params["_message_id"]]


def test_an_update_sent_again_by_telegram_is_handled_once(fake, ring, tmp_path):
    ch, seen, on_new, _ = channel(fake, ring, tmp_path)
    again = update("bonjour")
    handle(ch, on_new, again)
    handle(ch, on_new, again)
    handle(ch, on_new, update("bonjour"))
    assert [m.text for m in seen] == ["bonjour", "bonjour"]


def test_when_a_batch_delete_is_refused_each_message_is_tried_and_failures_are_told(fake, ring, tmp_path):
    fake.reset()
    ch, _, on_new, _ = channel(fake, ring, tmp_path)
    conv = ring.conversation_id(str(CHAT), "telegram")
    ch.message_log.add(conv, [1, 2, 3])
    fake.refuse_next("deleteMessages")
    fake.refuse_next("deleteMessage")  # the first one is too old for Telegram
    handle(ch, on_new, update("/effacer", message_id=4))
    assert [c.params["message_id"] for c in fake.of("deleteMessage")] == [1, 2, 3, 4]
    report = texts(fake)[-1]
    assert "(3)" in report and "1 message(s) n'ont pas pu être supprimés" in report


def test_link_buttons_open_the_link_and_link_previews_are_off(fake, ring, tmp_path):
    fake.reset()
    link = {"title": "Le site officiel", "payload": "https://arretonslesviolences.gouv.fr/"}
    ch, _, on_new, _ = channel(
        fake, ring, tmp_path, answer=lambda text: [{"text": "Voir https://www.service-public.fr", "buttons": [link]}]
    )
    handle(ch, on_new, update("un lien"))
    first = fake.of("sendMessage")[0].params
    assert first["reply_markup"]["inline_keyboard"] == [
        [{"text": "Le site officiel", "url": "https://arretonslesviolences.gouv.fr/"}]
    ]
    assert first["link_preview_options"] == {"is_disabled": True}
