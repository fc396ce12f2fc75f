"""In Debian's Chromium: a case made through the bot's REST channel appears live in the console.

Screenshots are kept in results/screenshots/ as test artifacts.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import ROOT
from .console_support import PASSWORDS, add_operator, start_console, stop

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "results" / "screenshots"


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
    assert "17" in bot.text(sender, "il rentre, il va me tuer")        # a danger signal: urgent
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
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make setup` installs it (apt-get install -y chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    console = console_on_bot
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(console.base + "/")
        expect(page).to_have_url(console.base + "/login")
        page.fill("input[name=login]", "chef")
        page.fill("input[name=password]", PASSWORDS["chef"])
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("File des dossiers")
        page.screenshot(path=str(SHOTS / "1-file-vide.png"), full_page=True)

        reference = ask_for_a_referent(bot)      # while the page stays open, without reloading
        row = page.locator(f"tr[data-reference='{reference}']")
        expect(row).to_be_visible(timeout=15000)
        expect(page.locator("#alerte")).to_contain_text(reference)
        expect(row).to_contain_text("urgent")
        page.screenshot(path=str(SHOTS / "2-nouveau-dossier.png"), full_page=True)

        row.locator("a").click()
        expect(page.locator(".contact")).to_contain_text("+33612345678")
        expect(page.locator(".contact")).to_contain_text("NE LAISSER AUCUN MESSAGE")
        page.click("#prendre")
        expect(page.locator("#statut")).to_have_text("pris en charge")
        page.fill("#note", "Premier appel prévu ce soir, plage demandée.")
        page.click("#ajouter-note")
        expect(page.locator("#notes")).to_contain_text("Premier appel prévu ce soir")
        page.select_option("#nouveau-statut", "en_cours")
        page.click("#changer-statut")
        expect(page.locator("#statut")).to_have_text("en cours")
        page.select_option("#nouveau-statut", "clos")
        page.fill("#issue", "orientée vers une association locale")
        page.click("#changer-statut")
        expect(page.locator("#statut")).to_have_text("clos")
        page.screenshot(path=str(SHOTS / "3-dossier-clos.png"), full_page=True)
        browser.close()
