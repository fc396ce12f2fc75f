"""In Debian's Chromium: a case made while the queue is open appears live (no reload), then is
taken, given a note and closed.

Two ways of making the case: directly through the outbox, as the bot's action does (no trained
model needed), and through the running bot's REST channel (the whole chain; needs the model).
Screenshots are kept in results/screenshots/ as test artifacts (results/ is git-ignored).
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Callable

import pytest
from playwright.sync_api import expect, sync_playwright

from bot.cases.crypto import conversation_id
from bot.cases.model import CaseDraft, ContactPlan
from bot.cases.outbox import Outbox

from .conftest import ROOT
from .console_support import PASSWORDS, add_operator, start_console, stop, store_for

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "results" / "screenshots"


def walk_through(console, make_case: Callable[[], str], shots: str, login: str = "chef") -> None:
    """Log in, keep the queue open while `make_case` creates a case, then take, note and close it."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make setup` installs it (apt-get install -y chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(console.base + "/")
            expect(page).to_have_url(console.base + "/login")
            page.fill("input[name=login]", login)
            page.fill("input[name=password]", PASSWORDS[login])
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("File des dossiers")
            expect(page.locator("#direct")).to_have_text("en direct", timeout=10000)  # the feed is open
            page.check("#son")  # sound on: must not break
            page.screenshot(path=str(SHOTS / f"{shots}-1-file.png"), full_page=True)
            marker = page.evaluate("() => { window.__pasRecharge = true; return location.href; }")

            reference = make_case()  # while the page stays open, without reloading
            row = page.locator(f"tr[data-reference='{reference}']")
            expect(row).to_be_visible(timeout=15000)
            expect(page.locator("#alerte")).to_be_visible()
            expect(page.locator("#alerte")).to_contain_text(reference)
            expect(row).to_contain_text("urgent")
            expect(row).to_contain_text("reste")
            assert page.evaluate("() => window.__pasRecharge === true") and page.url == marker  # no reload
            assert page.title().startswith("(1)")
            page.screenshot(path=str(SHOTS / f"{shots}-2-nouveau-dossier.png"), full_page=True)
            page.click("#alerte-vu")
            expect(page.locator("#alerte")).to_be_hidden()

            row.locator("a").click()
            contact = page.locator(".contact")
            expect(contact).to_contain_text("+33612345678")
            expect(contact).to_contain_text("NE LAISSER AUCUN MESSAGE")
            assert page.locator("section").first.get_attribute("class") == "contact carte"  # contact plan first
            page.click("#prendre")
            expect(page.locator("#statut")).to_have_text("pris en charge")
            expect(page.locator("#pris-par")).to_have_text(login)
            page.fill("#note", "Premier appel prévu ce soir, plage demandée. <b>pas du HTML</b>")
            page.click("#ajouter-note")
            expect(page.locator("#notes")).to_contain_text("Premier appel prévu ce soir")
            expect(page.locator("#notes")).to_contain_text("<b>pas du HTML</b>")  # shown as text, escaped
            page.select_option("#nouveau-statut", "en_cours")
            page.click("#changer-statut")
            expect(page.locator("#statut")).to_have_text("en cours")
            page.select_option("#nouveau-statut", "clos")
            page.click("#changer-statut")  # no outcome: refused
            expect(page.locator(".erreur")).to_contain_text("indiquez son issue")
            page.go_back()
            page.select_option("#nouveau-statut", "clos")
            page.fill("#issue", "orientée vers une association locale")
            page.click("#changer-statut")
            expect(page.locator("#statut")).to_have_text("clos")
            expect(page.locator("#issue-enregistree")).to_have_text("orientée vers une association locale")
            page.screenshot(path=str(SHOTS / f"{shots}-3-dossier-clos.png"), full_page=True)

            page.click("text=Statistiques")
            expect(page.locator("svg.graphique").first).to_be_visible()
            page.screenshot(path=str(SHOTS / f"{shots}-4-statistiques.png"), full_page=True)
            if login == "chef":
                page.click("text=Journal")
                expect(page.locator("#journal")).to_contain_text(reference)
                page.screenshot(path=str(SHOTS / f"{shots}-5-journal.png"), full_page=True)
            page.click("#deconnexion")
            expect(page).to_have_url(console.base + "/login")
            assert not [e for e in errors if "Content Security Policy" in e], errors  # nothing blocked by the CSP
        finally:
            browser.close()


# -- the case made directly through the outbox, as the handoff action does ----------------------
@pytest.fixture(scope="module")
def console_alone(tmp_path_factory):
    state = tmp_path_factory.mktemp("browser-state")
    done = add_operator(state, "chef", "--supervisor")
    assert done.returncode == 0, done.stderr
    running = start_console(state, tmp_path_factory.mktemp("browser-log") / "console.log")
    yield running
    stop(running)


def urgent_draft(keyring) -> CaseDraft:
    plan = ContactPlan.validated(
        "sms",
        "06 12 34 56 78",
        time_windows=["le soir (18h-21h)"],
        may_leave_message=False,
        code_word="Hirondelle",
        first_name="Solveig",
    )
    return CaseDraft(
        conversation_id(secrets.token_hex(8), "rest", keyring),
        "rest",
        plan,
        territory="95",
        measures=["auu", "logement"],
        danger_signals=["danger"],
        eligibility={"answers": {"relation": "conjoint"}, "outcomes": {"auu": "a_verifier"}, "rules_version": "test"},
    )


def test_a_case_made_while_the_queue_is_open_appears_live_then_is_taken_noted_and_closed(console_alone):
    store = store_for(console_alone.state)
    outbox = Outbox(store, console_alone.state / "outbox")

    def make_case() -> str:
        result = outbox.submit(urgent_draft(store.keyring))
        assert not result.pending
        return result.reference

    try:
        walk_through(console_alone, make_case, "direct")
    finally:
        store.close()
    assert "Hirondelle" not in console_alone.log.read_text() and "+33612345678" not in console_alone.log.read_text()


# -- the case made through the running bot's REST channel ---------------------------------------
@pytest.fixture(scope="module")
def console_on_bot(bot, tmp_path_factory):
    # The console reads the very database the running bot writes its cases to.
    done = add_operator(bot.state_dir, "chef", "--supervisor")
    assert done.returncode == 0, done.stderr
    running = start_console(bot.state_dir, tmp_path_factory.mktemp("console-log") / "console.log")
    yield running
    stop(running)


def ask_for_a_referent(bot) -> str:
    sender = f"test-{uuid.uuid4().hex[:12]}"
    assert "17" in bot.text(sender, "il rentre, il va me tuer")  # a danger signal: urgent
    bot.text(sender, "je veux parler à quelqu'un")
    bot.text(sender, "/consentir_contact")
    bot.text(sender, "par sms")
    bot.text(sender, "06 12 34 56 78")
    bot.text(sender, "le soir")
    bot.text(sender, "non")
    bot.text(sender, "Hirondelle")
    bot.text(sender, "non")
    done = bot.text(sender, "/confirmer_contact")
    assert "Votre référence" in done
    return done.split("Votre référence : ")[1][:8]


def test_a_case_from_the_bot_appears_live_then_is_taken_noted_and_closed(bot, console_on_bot):
    walk_through(console_on_bot, lambda: ask_for_a_referent(bot), "bot")
