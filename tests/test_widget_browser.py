"""The web widget in Debian's Chromium, against the really started stack (Rasa + actions +
`python -m connectors.web`, fixture `web_bot`): conversation with buttons, danger, nothing kept
in the browser, quick exit, erase, a second browser with her id, offline and back, axe-core.

Screenshots go to results/screenshots/ (test artifacts; results/ is git-ignored).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import List

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "results" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make setup` installs it (apt-get install -y chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Widget:
    """One visitor's page, with the session ids the server confirmed (read off the websocket)."""

    def __init__(self, context, base: str, width: int = 1280, height: int = 900):
        self.page = context.new_page()
        self.page.set_viewport_size({"width": width, "height": height})
        self.errors: List[str] = []
        self.sessions: List[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        self.page.goto(base + "/")
        self.log = self.page.locator("[role=log]")
        self.input = self.page.get_by_label("Votre message")

    def _frame(self, payload) -> None:
        if isinstance(payload, str) and payload.startswith('42["session_confirm"'):
            self.sessions.append(json.loads(payload[2:])[1])

    def open(self) -> None:
        self.page.get_by_role("button", name="Écrire à l'assistant").click()
        expect(self.page.locator(".ndw-status")).to_contain_text("Connectée", timeout=15000)

    def say(self, text: str) -> None:
        before = self.log.locator(".ndw-bot").count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.log.locator(".ndw-bot")).not_to_have_count(before, timeout=15000)
        expect(self.page.locator(".ndw-typing")).to_be_hidden(timeout=15000)


def user_texts(tracker: dict) -> List[str]:
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


def test_conversation_with_buttons_danger_and_nothing_kept(web_bot, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context()
    w = Widget(context, web_bot.web)
    page = w.page
    assert page.title() == "Accueil"
    # The quick exit is there before anything else, first in the tab order.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=re.compile("Sortie rapide"))).to_be_focused()
    w.open()
    expect(w.input).to_be_focused()
    w.say("bonjour")
    w.say("il rentre, il va me tuer")  # danger answered
    expect(w.log).to_contain_text("17")
    expect(w.log).to_contain_text("114")
    choice = w.log.get_by_role("button", name="Continuer")  # a real <button> in the message list
    expect(choice.last).to_be_visible()
    before = w.log.locator(".ndw-bot").count()
    choice.last.click()
    expect(w.log.locator(".ndw-user").last).to_have_text(re.compile("Continuer"))  # the title, not "/menu"
    expect(w.log.locator(".ndw-bot")).not_to_have_count(before, timeout=15000)
    expect(w.input).to_be_focused(timeout=15000)  # focus back to the input after the reply
    assert "/menu" not in w.log.inner_text()
    texts = user_texts(web_bot.tracker(w.sessions[-1]))
    assert texts == ["bonjour", "il rentre, il va me tuer", "/menu"]  # the payload was taken as the button
    page.screenshot(path=str(SHOTS / "widget-desktop.png"), full_page=False)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SHOTS / "widget-360.png"), full_page=False)

    kept = page.evaluate("""async () => ({
        local: localStorage.length, session: sessionStorage.length, cookie: document.cookie,
        idb: (await indexedDB.databases()).length,
        workers: navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : 0})""")
    assert kept == {"local": 0, "session": 0, "cookie": "", "idb": 0, "workers": 0}
    assert context.cookies() == []
    state = context.storage_state()
    assert state["cookies"] == [] and all(not o.get("localStorage") for o in state["origins"])
    assert w.errors == []  # no CSP violation, no script error
    context.close()


@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_lands_on_the_neutral_page_and_back_does_not_return(web_bot, browser, how):
    context = browser.new_context()
    w = Widget(context, web_bot.web)
    w.open()
    w.say("bonjour")
    if how == "button":
        w.page.get_by_role("button", name=re.compile("Sortie rapide")).click()
    else:
        w.input.press("Escape")
        w.input.press("Escape")
    w.page.wait_for_url(web_bot.quick_exit, timeout=10000)
    expect(w.page.locator("h1")).to_have_text("Prévisions météo")
    w.page.go_back()
    time.sleep(0.5)
    assert not w.page.url.startswith(web_bot.web)  # location.replace: no way back
    context.close()


def test_a_single_escape_does_nothing(web_bot, browser):
    context = browser.new_context()
    w = Widget(context, web_bot.web)
    w.open()
    w.input.press("Escape")
    time.sleep(1.5)
    w.input.press("Escape")  # too far apart: not a double press
    time.sleep(0.5)
    assert w.page.url.startswith(web_bot.web)
    context.close()


def test_erase_removes_the_conversation_on_the_server_and_the_screen(web_bot, browser):
    context = browser.new_context()
    w = Widget(context, web_bot.web)
    w.open()
    w.say("je cherche un logement d'urgence")
    first = w.sessions[-1]
    assert user_texts(web_bot.tracker(first)) == ["je cherche un logement d'urgence"]
    w.page.get_by_role("button", name="Effacer la conversation").click()
    expect(w.page.locator(".ndw-status")).to_contain_text("effacée, ici et sur le serveur", timeout=10000)
    assert w.log.locator(".ndw-msg").count() == 0
    assert user_texts(web_bot.tracker(first)) == []
    # The server sends « erased » then the new session's confirm: wait for that frame.
    for _ in range(100):
        if w.sessions[-1] != first:
            break
        w.page.wait_for_timeout(50)
    assert w.sessions[-1] != first  # a fresh conversation afterwards
    context.close()


def test_another_browser_with_her_session_id_gets_nothing(web_bot, browser):
    her_context, other_context = browser.new_context(), browser.new_context()
    her = Widget(her_context, web_bot.web)
    her.open()
    her.say("mon mot de passe secret est pivoine")
    her_id = her.sessions[-1]
    other = Widget(other_context, web_bot.web)
    other.page.evaluate(
        """([url, stolen]) => new Promise((resolve) => {
        window.__seen = [];
        const s = io(url, {transports: ["websocket"]});
        s.onAny((event, data) => window.__seen.push([event, data]));
        s.on("connect", () => {
            s.emit("session_request", {session_id: stolen});
            s.emit("user_uttered", {message: "bonjour", session_id: stolen}, () => resolve());
        });
    })""",
        [web_bot.rasa, her_id],
    )
    her.say("et pour la garde des enfants ?")
    time.sleep(1)
    seen = other.page.evaluate("() => window.__seen")
    confirmed = [d for e, d in seen if e == "session_confirm"]
    assert confirmed and her_id not in confirmed
    shown = json.dumps(seen, ensure_ascii=False)
    assert "pivoine" not in shown and "garde" not in shown.lower()
    assert user_texts(web_bot.tracker(her_id)) == [
        "mon mot de passe secret est pivoine",
        "et pour la garde des enfants ?",
    ]
    her_context.close()
    other_context.close()


def test_offline_then_online_keeps_the_typed_text_and_the_conversation(web_bot, browser):
    context = browser.new_context()
    w = Widget(context, web_bot.web)
    w.open()
    w.say("bonjour")
    session = w.sessions[-1]
    context.set_offline(True)
    expect(w.page.locator(".ndw-status")).to_contain_text("Hors connexion", timeout=10000)
    w.input.fill("c'est quoi l'aide universelle")
    w.page.get_by_role("button", name="Envoyer").click()  # sent while offline: said so
    failed = w.log.locator(".ndw-failed")
    expect(failed).to_contain_text("non envoyé")
    w.input.fill("je tapais ceci")
    context.set_offline(False)
    expect(w.page.locator(".ndw-status")).to_contain_text("Connexion rétablie", timeout=20000)
    expect(w.input).to_have_value("je tapais ceci")
    expect(w.log).to_contain_text("bonjour")
    before = w.log.locator(".ndw-bot").count()
    failed.get_by_role("button", name=re.compile("Réessayer")).click()
    expect(w.log.locator(".ndw-bot")).not_to_have_count(before, timeout=15000)
    expect(w.log.locator(".ndw-failed")).to_have_count(0)
    assert w.sessions[-1] == session  # resumed, same conversation
    assert user_texts(web_bot.tracker(session)) == ["bonjour", "c'est quoi l'aide universelle"]
    context.close()


def test_axe_core_finds_no_serious_violation(web_bot, browser):
    # bypass_csp only so that the test can inject axe-core; the page itself is unchanged.
    context = browser.new_context(bypass_csp=True)
    results = {}
    for width in (360, 1280):
        w = Widget(context, web_bot.web, width=width, height=800)
        w.open()
        w.say("il rentre, il va me tuer")  # messages and buttons on screen
        w.page.add_script_tag(path=str(AXE))
        results[width] = w.page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]});
            return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                               .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
        }""")
        w.page.close()
    context.close()
    assert results == {360: [], 1280: []}
