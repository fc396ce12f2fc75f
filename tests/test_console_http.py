"""The operator console over real HTTP: access, CSRF, territories, throttling, audit, bad input."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
import requests

from .console_support import PASSWORDS, add_operator, new_case, start_console, stop, store_for


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    state = tmp_path_factory.mktemp("console-state")
    for login, flags in (("alice", ["--territory", "95"]), ("chef", ["--supervisor"]),
                         ("bob", ["--territory", "13"])):
        done = add_operator(state, login, *flags)
        assert done.returncode == 0, done.stderr
    running = start_console(state, tmp_path_factory.mktemp("console-log") / "console.log")
    yield running
    stop(running)


@pytest.fixture(scope="module")
def cases(console):
    store = store_for(console.state)
    refs = {"95": new_case(store, "95"), "13": new_case(store, "13", ["danger"])}
    yield store, refs


def test_the_cli_refuses_a_duplicate_or_an_operator_without_territory(console):
    done = add_operator(console.state, "alice", "--territory", "95")
    assert done.returncode == 1 and "existe déjà" in done.stderr
    done = add_operator(console.state, "alice")
    assert done.returncode == 1 and "territoire" in done.stderr


@pytest.mark.parametrize("method, path, expected", [
    ("get", "/", 302), ("get", "/statistiques", 302), ("get", "/dossiers/ABCD2345", 302),
    ("post", "/dossiers/ABCD2345/notes", 401), ("get", "/evenements", 401), ("get", "/journal", 302),
])
def test_nothing_without_a_session(console, method, path, expected):
    answer = getattr(requests, method)(console.base + path, allow_redirects=False)
    assert answer.status_code == expected
    if expected == 302:
        assert answer.headers["Location"] == "/login"


def test_login_needs_its_csrf_token_and_the_right_password(console):
    assert requests.post(console.base + "/login", data={"login": "alice", "password": PASSWORDS["alice"]},
                         allow_redirects=False).status_code == 403
    _, wrong = console.login("alice", "pas le bon mot de passe")
    assert wrong.status_code == 401 and "incorrect" in wrong.text
    http, ok = console.login("alice")
    assert ok.status_code == 302
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_login_is_throttled_after_repeated_failures(console):
    codes = [console.login("bob", "mauvais")[1].status_code for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert console.login("bob")[1].status_code == 429        # even the right password, for a while


def test_operators_see_only_their_territories(console, cases):
    _, refs = cases
    http, _ = console.login("alice")
    queue = http.get(console.base + "/").text
    assert refs["95"] in queue and refs["13"] not in queue
    assert http.get(f"{console.base}/dossiers/{refs['13']}").status_code == 403
    assert http.get(console.base + "/?territoire=13").status_code == 403
    chef, _ = console.login("chef")
    queue = chef.get(console.base + "/").text
    assert queue.index(refs["13"]) < queue.index(refs["95"])   # urgent first


def test_case_page_contact_plan_first_no_store_and_headers(console, cases):
    _, refs = cases
    http, _ = console.login("alice")
    page = http.get(f"{console.base}/dossiers/{refs['95']}")
    assert page.status_code == 200
    assert page.text.index("+33612345678") < page.text.index("Éligibilité")
    assert "NE LAISSER AUCUN MESSAGE" in page.text and "Hirondelle" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_forms_without_csrf_are_refused(console, cases):
    _, refs = cases
    http, _ = console.login("alice")
    answer = http.post(f"{console.base}/dossiers/{refs['95']}/notes", data={"note": "sans jeton"},
                       allow_redirects=False)
    assert answer.status_code == 403 and "Jeton de sécurité" in answer.text


def test_take_note_close_and_everything_is_audited(console, cases):
    store, refs = cases
    ref = refs["95"]
    http, _ = console.login("alice")
    token = console.csrf(http, f"/dossiers/{ref}")
    assert http.post(f"{console.base}/dossiers/{ref}/prendre", data={"csrf": token},
                     allow_redirects=False).status_code == 302
    assert store.get(ref).status == "pris_en_charge"
    assert http.post(f"{console.base}/dossiers/{ref}/notes", data={"csrf": token, "note": "Rappel Ophélie mardi"},
                     allow_redirects=False).status_code == 302
    # closing needs an outcome
    assert http.post(f"{console.base}/dossiers/{ref}/statut", data={"csrf": token, "statut": "clos"},
                     allow_redirects=False).status_code == 400
    assert http.post(f"{console.base}/dossiers/{ref}/statut", data={"csrf": token, "statut": "clos",
                                                                  "issue": "orientée CHRS"},
                     allow_redirects=False).status_code == 302
    assert store.get(ref).status == "clos"
    # a forbidden change: closed back to in progress
    answer = http.post(f"{console.base}/dossiers/{ref}/statut", data={"csrf": token, "statut": "en_cours"},
                       allow_redirects=False)
    assert answer.status_code == 409 and "non permis" in answer.text
    chef, _ = console.login("chef")
    journal = chef.get(console.base + "/journal").text
    for action in ("vue", "prise", "note", "statut"):
        assert f"<td>{action}</td>" in journal
    assert "alice" in journal
    # the note is encrypted at rest
    with sqlite3.connect(console.state / "cases.sqlite3") as db:
        raw = "\n".join(repr(r) for t in ("case_notes", "cases", "audit_log") for r in db.execute(f"select * from {t}"))
    assert "Ophélie" not in raw and "612345678" not in raw and "Hirondelle" not in raw


@pytest.mark.parametrize("path, data, status", [
    ("/dossiers/ZZZZZZZZ/notes", {"note": "x"}, 404),
    ("/dossiers/{ref}/notes", {"note": "x" * 3000}, 413),
    ("/dossiers/{ref}/notes", {"note": ""}, 400),
    ("/dossiers/{ref}/statut", {"statut": "nimporte"}, 400),
])
def test_bad_input_gets_a_clear_4xx(console, cases, path, data, status):
    store, refs = cases
    ref = new_case(store, "95")
    http, _ = console.login("alice")
    token = console.csrf(http)
    answer = http.post(console.base + path.format(ref=ref), data={**data, "csrf": token}, allow_redirects=False)
    assert answer.status_code == status
    assert "<h1>Impossible</h1>" in answer.text


def test_unknown_page_is_a_french_404(console):
    http, _ = console.login("alice")
    answer = http.get(console.base + "/nulle-part")
    assert answer.status_code == 404 and "introuvable" in answer.text


def test_supervisors_manage_operators_operators_cannot(console):
    http, _ = console.login("alice")
    assert http.get(console.base + "/operateurs").status_code == 403
    chef, _ = console.login("chef")
    token = console.csrf(chef, "/operateurs")
    weak = chef.post(console.base + "/operateurs", data={"csrf": token, "login": "zoe", "password": "court",
                                                         "territoires": "974"})
    assert weak.status_code == 400 and "trop court" in weak.text
    made = chef.post(console.base + "/operateurs", data={"csrf": token, "login": "zoe",
                                                         "password": "zoe-mot-de-passe-974", "territoires": "974"},
                     allow_redirects=False)
    assert made.status_code == 302
    assert "zoe" in chef.get(console.base + "/operateurs").text


def test_statistics_are_counts_with_charts(console, cases):
    http, _ = console.login("chef")
    page = http.get(console.base + "/statistiques")
    assert page.status_code == 200 and "<svg" in page.text and "auu" in page.text
    assert "+33612345678" not in page.text


def test_a_new_case_is_pushed_live_to_her_territory_only(console, cases):
    store, _ = cases
    http, _ = console.login("alice")
    got: list[dict] = []

    def listen():
        with http.get(console.base + "/evenements", stream=True, timeout=15) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    got.append(json.loads(line[6:]))
                    if any(e["territoire"] == "95" for e in got):
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(1.5)
    other = new_case(store, "13")
    mine = new_case(store, "95")
    thread.join(timeout=15)
    references = [e["reference"] for e in got]
    assert mine in references and other not in references
    assert all(set(e) == {"reference", "type", "statut", "priorite", "territoire"} for e in got)


def test_logout_ends_the_session(console):
    http, _ = console.login("alice")
    token = console.csrf(http)
    assert http.post(console.base + "/logout", data={"csrf": token}, allow_redirects=False).status_code == 302
    assert http.get(console.base + "/", allow_redirects=False).status_code == 302


def test_the_eligibility_summary_comes_with_its_reasons(console, cases):
    from bot.eligibility.service import default_eligibility
    store, _ = cases
    answers = {"relation": "conjoint", "preuve": "main_courante", "sejour": "oui"}
    ref = new_case(store, "95", eligibility={"answers": answers, "outcomes": {"auu": "pas_eligible"},
                                            "rules_version": default_eligibility().rules.version})
    http, _ = console.login("alice")
    page = http.get(f"{console.base}/dossiers/{ref}").text
    assert "pas éligible en l&#39;état" in page and "Une main courante seule ne suffit pas" in page
