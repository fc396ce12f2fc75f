"""The hardened socket.io channel (connectors/socketio_channel.py), against the really started Rasa.

Clients are python-socketio's AsyncClient, as a script on another site or a second
device would be (long-polling transport: its websocket client needs a newer aiohttp than
Rasa 3.6 allows; the browser test uses websockets). The widget itself is driven in a browser in test_widget_browser.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List, Optional

import pytest
import socketio

from connectors import guard
from connectors.socketio_channel import PANNE_TEXT, UNREADABLE_TEXT, SafeSocketIOInput, SessionRegistry, allowed_origins


class Client:
    """One socket.io client recording everything the server sends it."""

    def __init__(self, origin: Optional[str]) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.origin = origin
        self.events: List[tuple[str, Any]] = []
        self.session_id: Optional[str] = None
        self.token: Optional[str] = None
        for name in ("bot_uttered", "session_confirm", "session_token", "erased"):
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str):
        async def record(data: Any = None) -> None:
            self.events.append((name, data))
            if name == "session_confirm":
                self.session_id = data
            elif name == "session_token":
                self.token = data["resume_token"]

        return record

    async def connect(self, url: str) -> None:
        headers = {"Origin": self.origin} if self.origin else {}
        await self.sio.connect(
            url, headers=headers, transports=["polling"], socketio_path="/socket.io", wait_timeout=10
        )

    async def session(self, session_id: Any = None, token: Any = None) -> str:
        before = len(self.confirms())
        await self.sio.emit("session_request", {"session_id": session_id, "resume_token": token})
        await self.wait(lambda: len(self.confirms()) > before)
        return self.session_id

    def confirms(self) -> List[str]:
        return [d for n, d in self.events if n == "session_confirm"]

    def texts(self) -> List[str]:
        return [d.get("text", "") for n, d in self.events if n == "bot_uttered" and isinstance(d, dict)]

    async def say(self, message: Any, **extra: Any) -> List[Dict]:
        """Sends and waits for the server's acknowledgement (it comes once the turn is over)."""
        start = len(self.texts())
        raw = extra.pop("raw", False)
        data = message if raw else {"message": message, **extra}
        await self.sio.call("user_uttered", data, timeout=30)
        return self.texts()[start:]

    async def wait(self, condition, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from the socket.io channel")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.sio.disconnect()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


def user_texts(tracker: dict) -> List[str]:
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


@pytest.fixture(scope="module")
def stack(web_bot):
    return web_bot


def test_server_issues_the_id_and_a_conversation_runs(stack):
    async def scenario():
        c = Client(stack.web)
        await c.connect(stack.rasa)
        proposed = "mon-identifiant-choisi"
        sid = await c.session(proposed)  # a plain proposal, no server token
        assert sid != proposed and len(sid) == 32 and c.token
        answer = await c.say("bonjour")
        assert answer and any("Sortie rapide" in t or "effacer" in t.lower() for t in answer)
        await c.close()
        return sid

    sid = run(scenario())
    assert "bonjour" in user_texts(stack.tracker(sid))


def test_a_second_client_with_her_id_gets_nothing_of_her_conversation(stack):
    async def scenario():
        her, other = Client(stack.web), Client(stack.web)
        await her.connect(stack.rasa)
        her_id = await her.session()
        await her.say("Mon code est tournesol")
        await other.connect(stack.rasa)
        other_id = await other.session(her_id)  # her id, no token: a new conversation
        assert other_id != her_id
        await other.session(her_id, "jeton-invente")  # a made-up token neither
        assert other.session_id != her_id
        await other.say("annuler ma demande", session_id=her_id)  # her id in the message: ignored
        seen_by_other = len(other.events)
        answer = await her.say("c'est quoi le pack nouveau départ ?")
        assert answer
        await asyncio.sleep(0.5)
        leaked = other.events[seen_by_other:]
        await her.close()
        await other.close()
        return her_id, other.session_id, leaked

    her_id, other_id, leaked = run(scenario())
    assert leaked == []  # none of her answers reached the other socket
    assert user_texts(stack.tracker(her_id)) == ["Mon code est tournesol", "c'est quoi le pack nouveau départ ?"]
    assert user_texts(stack.tracker(other_id)) == ["annuler ma demande"]


def test_resume_only_with_the_issued_token_and_only_once(stack):
    async def scenario():
        first = Client(stack.web)
        await first.connect(stack.rasa)
        sid = await first.session()
        token = first.token
        await first.say("bonjour")
        await first.close()  # network drop
        again = Client(stack.web)
        await again.connect(stack.rasa)
        assert await again.session(sid, token) == sid  # resumed with the issued token
        answer = await again.say("merci")
        assert answer
        thief = Client(stack.web)
        await thief.connect(stack.rasa)
        assert await thief.session(sid, token) != sid  # a used token does not work twice
        await again.close()
        await thief.close()
        return sid

    sid = run(scenario())
    assert user_texts(stack.tracker(sid)) == ["bonjour", "merci"]


def test_a_socket_from_another_site_is_refused(stack):
    async def scenario():
        c = Client("https://site-inconnu.example")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await c.connect(stack.rasa)
        ok = Client(stack.web)  # the allowed origin still connects
        await ok.connect(stack.rasa)
        await ok.close()

    run(scenario())


def test_a_300_kb_message_is_refused_while_danger_is_answered_fast(stack):
    async def scenario():
        big, urgent = Client(stack.web), Client(stack.web)
        await big.connect(stack.rasa)
        await urgent.connect(stack.rasa)
        big_id = await big.session()
        await urgent.session()
        huge = asyncio.create_task(big.say("il va me tuer " * 21500))  # about 300 kB
        await asyncio.sleep(0.05)
        start = time.monotonic()
        answer = await urgent.say("il rentre, il va me tuer")
        elapsed = time.monotonic() - start
        refused = await huge
        await big.close()
        await urgent.close()
        return big_id, answer, elapsed, refused

    big_id, answer, elapsed, refused = run(scenario())
    print(f"danger answered in {elapsed:.2f} s while a 300 kB message was refused")
    assert elapsed < 3.0, elapsed
    assert any("17" in t for t in answer) and any("114" in t for t in answer)
    assert refused == [guard.TOO_LONG_TEXT]
    assert user_texts(stack.tracker(big_id)) == []  # never reached the NLU


def test_erase_removes_the_conversation_on_the_server_and_starts_a_new_one(stack):
    async def scenario():
        c = Client(stack.web)
        await c.connect(stack.rasa)
        sid = await c.session()
        token = c.token
        await c.say("je voudrais de l'aide pour un logement")
        assert user_texts(stack.tracker(sid))
        before = len(c.confirms())
        await c.sio.call("erase_request", {}, timeout=15)
        await c.wait(lambda: len(c.confirms()) > before)
        assert ("erased", {"ok": True}) in c.events and c.session_id != sid
        thief = Client(stack.web)
        await thief.connect(stack.rasa)
        assert await thief.session(sid, token) != sid  # an erased conversation cannot be resumed
        await c.close()
        await thief.close()
        return sid

    sid = run(scenario())
    assert user_texts(stack.tracker(sid)) == []


def test_malformed_events_get_an_answer_not_a_crash(stack):
    async def scenario():
        c = Client(stack.web)
        await c.connect(stack.rasa)
        await c.sio.emit("session_request", "pas un objet")
        await c.wait(lambda: c.session_id is not None)
        answers = []
        for data in ("texte brut", {"message": 12}, {"message": None}, ["liste"], {"autre": "x"}):
            answers.append(await c.say(data, raw=True))
        answers.append(await c.say("bonjour", metadata="{pas du json"))  # Rasa's own channel crashed here
        await c.close()
        return answers

    answers = run(scenario())
    assert answers[:5] == [[UNREADABLE_TEXT]] * 5
    assert answers[5] and answers[5] != [UNREADABLE_TEXT]


def test_no_message_text_in_the_logs(stack):
    async def scenario():
        c = Client(stack.web)
        await c.connect(stack.rasa)
        await c.session()
        await c.say("mon voisin Zéphyrin-Marcassin me suit")
        await c.say("x" * 2500)
        await c.close()

    run(scenario())
    content = stack.bot.logs["rasa"].read_text(errors="replace")
    assert "Zéphyrin-Marcassin" not in content and "xxxxxxxx" not in content


# --- in-process: the never-silent rule and the session registry, with fakes -----------------


def _handlers(channel: SafeSocketIOInput, on_new_message) -> Dict[str, Any]:
    channel.blueprint(on_new_message)
    return channel.sio.handlers["/"]


def test_a_failed_or_empty_turn_gets_the_technical_fallback(monkeypatch):
    async def scenario(on_new_message):
        channel = SafeSocketIOInput()
        handlers = _handlers(channel, on_new_message)
        sent: List[tuple] = []

        async def emit(event, data=None, room=None, namespace=None, **_):
            sent.append((event, data, room))

        monkeypatch.setattr(channel.sio, "emit", emit)
        monkeypatch.setattr(channel.sio, "enter_room", lambda *a, **k: None)
        await handlers["connect"]("sock1", {"REMOTE_ADDR": "127.0.0.1"}, None)
        await handlers["session_request"]("sock1", {})
        await handlers["user_uttered"]("sock1", {"message": "bonjour"})
        return [d for e, d, _ in sent if e == "bot_uttered"]

    async def failing(message):
        raise RuntimeError("action server down")

    async def silent(message):
        return None

    for on_new_message in (failing, silent):
        said = asyncio.run(scenario(on_new_message))
        assert len(said) == 1
        text = said[0]["text"]
        assert ("problème technique" in text or text == PANNE_TEXT) and "114" in text


def test_sessions_are_forgotten_when_idle_and_bound_to_one_socket():
    now = [1000.0]
    registry = SessionRegistry(ttl_seconds=60, clock=lambda: now[0])
    sid, token, previous = registry.open("sock-a")
    assert previous is None and registry.session_of("sock-a") == sid
    again, token2, previous = registry.open("sock-b", sid, token)
    assert again == sid and previous == "sock-a" and registry.session_of("sock-a") is None
    assert registry.open("sock-c", sid, token)[0] != sid  # old token spent
    registry.release("sock-b")
    now[0] += 61
    registry.sweep()
    assert registry.open("sock-d", sid, token2)[0] != sid  # idle too long: gone
    assert len(registry) <= 2


def test_allowed_origins_from_the_environment():
    assert allowed_origins("") == ["http://localhost:8000", "http://127.0.0.1:8000"]
    assert allowed_origins(" https://asso.example/ , https://autre.example") == [
        "https://asso.example",
        "https://autre.example",
    ]


def test_too_many_messages_get_the_calm_answer(monkeypatch):
    monkeypatch.setenv("ND_RATE_PER_CONVERSATION", "2")
    now = [50.0]
    channel = SafeSocketIOInput(clock=lambda: now[0])
    seen: List[str] = []

    async def echo(message):
        seen.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "ok")

    async def scenario():
        handlers = _handlers(channel, echo)
        sent: List[tuple] = []

        async def emit(event, data=None, room=None, namespace=None, **_):
            sent.append((event, data))

        monkeypatch.setattr(channel.sio, "emit", emit)
        monkeypatch.setattr(channel.sio, "enter_room", lambda *a, **k: None)
        await handlers["connect"]("s", {}, None)
        await handlers["session_request"]("s", {})
        for _ in range(3):
            await handlers["user_uttered"]("s", {"message": "bonjour"})
        now[0] += 61  # a minute later: allowed again
        await handlers["user_uttered"]("s", {"message": "bonjour"})
        return [d["text"] for e, d in sent if e == "bot_uttered"]

    assert asyncio.run(scenario()) == ["ok", "ok", guard.TOO_FAST_TEXT, "ok"]
    assert len(seen) == 3
