"""Live takeover on the web: her widget and the operator's console, two Chromium pages against the
really started stack (Rasa with the socket.io channel + actions + `python -m connectors.web` +
`python -m bot console`, one state folder). She asks for a référent « ici, maintenant »; the operator
joins, writes, she reads it; she answers, the console shows it; the assistant is silent; danger is still
answered at once; the operator hands back and the assistant answers again. Then: nobody joins, and after
the (short) wait she gets the 3919 and the 114.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from bot.live.store import LiveStore

from .conftest import ROOT, _start_bot, free_port, wait_http
from .console_support import PASSWORDS, add_operator, start_console, stop, store_for
from .test_widget_browser import SHOTS, Widget, browser  # noqa: F401 - the shared Chromium fixture

WAIT_MINUTES = "0.75"  # 45 s: the operator joins within seconds; the fallback test waits for it


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    for bot in _start_bot(
        tmp_path_factory,
        extra_env={"ND_ALLOWED_ORIGINS": origin, "ND_LIVE_WAIT_MINUTES": WAIT_MINUTES, "ND_LIVE_POLL_SECONDS": "0.5"},
    ):
        rasa = bot.url.split("/webhooks")[0]
        env = {**os.environ, "ND_WEB_PORT": str(web_port), "ND_SOCKET_URL": rasa}
        with open(bot.logs["rasa"].parent / "web.log", "w") as out:
            web = subprocess.Popen(
                [sys.executable, "-m", "connectors.web"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        assert add_operator(bot.state_dir, "alice", "--supervisor").returncode == 0
        assert add_operator(bot.state_dir, "ines", "--supervisor").returncode == 0
        console = start_console(bot.state_dir, bot.logs["rasa"].parent / "console.log", env={"ND_LIVE_RASA_URL": rasa})
        try:
            wait_http(origin + "/", web, timeout=30)
            bot.web, bot.console = origin, console
            yield bot
        finally:
            stop(console)
            web.terminate()
            web.wait(timeout=10)


def ask_here_now(w: Widget) -> str:
    w.open()
    w.say("je voudrais parler à quelqu'un")
    w.log.get_by_role("button", name="Oui, je veux être recontactée").last.click()
    expect(w.log).to_contain_text("Comment préférez-vous être contactée", timeout=15000)
    expect(w.log.get_by_role("button", name="Ici, maintenant").last).to_be_visible()
    w.log.get_by_role("button", name="Ici, maintenant").last.click()
    expect(w.log).to_contain_text("mot de code", timeout=15000)
    w.say("tournesol")
    w.say("Sarah")
    expect(w.log).to_contain_text("Est-ce que je l'envoie", timeout=15000)
    w.log.get_by_role("button", name="Oui, envoyer").last.click()
    expect(w.log).to_contain_text("vous êtes en attente d'un·e référent·e", timeout=15000)
    expect(w.log).to_contain_text("Gardez cette page ouverte")
    text = w.log.inner_text()
    return re.findall(r"Votre référence : ([A-Z0-9]{8})", text)[-1]


def login(page, base: str, who: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=login]", who)
    page.fill("input[name=password]", PASSWORDS[who])
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()
    expect(page).to_have_url(base + "/")


def bot_count(w: Widget) -> int:
    return w.log.locator(".ndw-bot").count()


def test_a_referent_joins_writes_reads_her_and_hands_back(stack, browser):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    her_ctx, op_ctx, other_ctx = browser.new_context(), browser.new_context(), browser.new_context()
    w = Widget(her_ctx, stack.web)
    reference = ask_here_now(w)

    # The operator's queue: the waiting live conversation at the top, with its waiting time.
    op = op_ctx.new_page()
    login(op, stack.console.base, "alice")
    first = op.locator("#lignes tr").first
    expect(first).to_contain_text(reference)
    expect(first).to_contain_text(re.compile(r"en direct : attend depuis \d+ min"))
    op.goto(f"{stack.console.base}/dossiers/{reference}")
    expect(op.locator("#direct-etat")).to_contain_text("Elle attend")
    op.fill("#direct-nom", "Claire")
    op.get_by_role("button", name="Rejoindre la conversation").click()
    expect(w.log).to_contain_text("Claire, référente, a rejoint la conversation", timeout=10000)

    # Another operator sees who holds it and cannot write.
    other = other_ctx.new_page()
    login(other, stack.console.base, "ines")
    other.goto(f"{stack.console.base}/dossiers/{reference}")
    expect(other.locator("#direct-tenue")).to_have_text("alice")
    expect(other.get_by_label("Votre message")).to_have_count(0)

    # She reads the operator; the operator reads her; the assistant says nothing meanwhile.
    op.get_by_label("Votre message").fill("Bonjour, je suis là. Êtes-vous en sécurité en ce moment ?")
    op.get_by_role("button", name="Envoyer").click()
    expect(w.log).to_contain_text("Claire : Bonjour, je suis là. Êtes-vous en sécurité", timeout=10000)
    before = bot_count(w)
    w.input.fill("oui je suis seule pour l'instant, merci")
    w.input.press("Enter")
    journal = op.get_by_role("log")
    started = time.monotonic()
    expect(journal).to_contain_text("oui je suis seule pour l'instant, merci", timeout=5000)
    seen_after = time.monotonic() - started
    time.sleep(2.5)  # what the assistant would have answered by now
    assert bot_count(w) == before, "the assistant spoke while a référent held the conversation"

    # Danger during the takeover: the emergency answer at once, and the operator alerted.
    w.input.fill("il rentre, il va me tuer")
    w.input.press("Enter")
    expect(w.log.locator(".ndw-bot").last).to_contain_text("17", timeout=5000)
    expect(w.log.locator(".ndw-bot").last).to_contain_text("114")
    expect(op.locator("#direct-alerte")).to_contain_text("DANGER", timeout=5000)
    op.screenshot(path=str(SHOTS / "live-console.png"), full_page=True)
    w.page.screenshot(path=str(SHOTS / "live-widget.png"))

    # Hand back: she is told, and the assistant answers again.
    op.get_by_role("button", name="Rendre la main à l'assistant").click()
    expect(w.log).to_contain_text("vous êtes de nouveau avec l'assistant", timeout=10000)
    before = bot_count(w)
    w.say("c'est quoi l'aide universelle d'urgence ?")
    assert bot_count(w) > before
    expect(w.log.locator(".ndw-bot").last).to_contain_text(re.compile("aide", re.I))

    # Kept sealed with the case; audited without text.
    live = LiveStore(store_for(stack.state_dir))
    said = [m.text for m in live.messages(reference)]
    assert "oui je suis seule pour l'instant, merci" in said
    raw = (stack.state_dir / "cases.sqlite3").read_bytes()
    assert b"seule pour l'instant" not in raw and "sécurité en ce moment".encode() not in raw
    import sqlite3

    with sqlite3.connect(stack.state_dir / "cases.sqlite3") as db:
        actions = [
            r[0]
            for r in db.execute("SELECT action FROM audit_log WHERE reference = ? AND login = 'alice'", (reference,))
        ]
        details = " ".join(str(r[0]) for r in db.execute("SELECT detail FROM audit_log"))
    assert {"direct_rejoint", "direct_message", "direct_rendu"} <= set(actions)
    assert "sécurité" not in details and "seule" not in details
    assert "seule pour l'instant" not in (stack.logs["rasa"].read_text() + stack.console.log.read_text())
    print(f"her message shown in the console after {seen_after:.2f} s")
    for ctx in (her_ctx, op_ctx, other_ctx):
        ctx.close()


def test_nobody_joins_she_gets_the_3919_and_114(stack, browser):  # noqa: F811
    ctx = browser.new_context()
    w = Widget(ctx, stack.web)
    ask_here_now(w)
    expect(w.log).to_contain_text("aucun·e référent·e n'a pu vous rejoindre à temps", timeout=90000)
    last = w.log.locator(".ndw-bot").last
    expect(last).to_contain_text("3919")
    expect(last).to_contain_text("114")
    expect(last).to_contain_text("13 h à 20 h")
    expect(last).to_contain_text("recontactée")
    ctx.close()
