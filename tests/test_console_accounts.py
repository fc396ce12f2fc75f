"""Console accounts on SQLite and PostgreSQL: scrypt hashes, sessions expiring after inactivity,
disabling, password changes, assignments, audit; throttling; territories."""

from __future__ import annotations

import datetime as dt

import pytest

import bot.console.accounts as accounts_module
from bot.console.accounts import AccountError, Accounts, Throttle, hash_password, verify_password
from tests.cases_support import (  # noqa: F401
    _case_env,
    clock,
    db_url,
    keyring,
    make_draft,
    pg_database,
    raw_dump,
    store,
)


@pytest.fixture
def accounts(store):
    return Accounts(store, session_minutes=30)


@pytest.fixture
def now(monkeypatch):
    current = [dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(accounts_module, "utcnow", lambda: current[0])
    return current


def test_passwords_are_salted_scrypt_hashes():
    first, second = hash_password("un mot de passe long"), hash_password("un mot de passe long")
    assert first != second and first.startswith("scrypt$32768$8$1$")
    assert verify_password("un mot de passe long", first) and not verify_password("autre chose", first)
    assert not verify_password("x", "pas un hash")
    assert not verify_password("un mot de passe long", "!" + first)  # a disabled account's hash


@pytest.mark.parametrize(
    "login, password, supervisor, territories, message",
    [
        ("Bad Login!", "mot-de-passe-long", False, ["95"], "identifiant"),
        ("alice", "court", False, ["95"], "trop court"),
        ("alice", "x" * 300, False, ["95"], "trop long"),
        ("alice", "mot-de-passe-long", False, [], "territoire"),
        ("alice", "mot-de-passe-long", False, ["Paris"], "territoire invalide"),
    ],
)
def test_bad_accounts_are_refused(accounts, login, password, supervisor, territories, message):
    with pytest.raises(AccountError, match=message):
        accounts.add(login, password, supervisor, territories)


def test_accounts_are_stored_hashed_and_authenticated(accounts, db_url):
    accounts.add("Alice", "mot-de-passe-long", territories=["95", "2a"])
    assert accounts.authenticate("alice", "mot-de-passe-long").territories == ("2A", "95")
    assert accounts.authenticate("ALICE ", "mot-de-passe-long") is not None
    assert accounts.authenticate("alice", "mauvais-mot-de-passe") is None
    assert accounts.authenticate("inconnue", "mot-de-passe-long") is None
    with pytest.raises(AccountError, match="existe déjà"):
        accounts.add("alice", "mot-de-passe-long", territories=["95"])
    assert "mot-de-passe-long" not in raw_dump(db_url)


def test_a_session_expires_after_inactivity_and_is_refreshed_by_use(accounts, now):
    operator = accounts.add("alice", "mot-de-passe-long", territories=["95"])
    token, csrf = accounts.open_session(operator)
    now[0] += dt.timedelta(minutes=29)
    assert accounts.session(token).operator.login == "alice"  # used: refreshed
    now[0] += dt.timedelta(minutes=29)
    assert accounts.session(token) is not None
    now[0] += dt.timedelta(minutes=31)
    assert accounts.session(token) is None  # idle too long
    assert accounts.session(token) is None and accounts.session("forged") is None


def test_a_passive_request_does_not_keep_the_session_alive(accounts, now):
    token, _ = accounts.open_session(accounts.add("alice", "mot-de-passe-long", territories=["95"]))
    for _ in range(3):  # the live feed polls for an hour
        now[0] += dt.timedelta(minutes=20)
        seen = accounts.session(token, touch=False)
    assert seen is None


def test_sessions_are_stored_hashed_and_stale_ones_swept(accounts, now, db_url):
    operator = accounts.add("alice", "mot-de-passe-long", territories=["95"])
    old, _ = accounts.open_session(operator)
    now[0] += dt.timedelta(hours=2)
    new, _ = accounts.open_session(operator)
    dump = raw_dump(db_url)
    assert old not in dump and new not in dump
    assert sum(line.startswith("console_sessions:") for line in dump.splitlines()) == 1  # stale one swept


def test_csrf_check(accounts):
    operator = accounts.add("chef", "mot-de-passe-long", supervisor=True)
    token, csrf = accounts.open_session(operator)
    session = accounts.session(token)
    assert (
        accounts.csrf_ok(session, csrf)
        and not accounts.csrf_ok(session, "autre")
        and not accounts.csrf_ok(session, None)
    )


def test_disabling_ends_sessions_and_logins_until_enabled_again(accounts):
    accounts.add("chef", "mot-de-passe-long", supervisor=True)
    alice = accounts.add("alice", "mot-de-passe-long", territories=["95"])
    token, _ = accounts.open_session(alice)
    accounts.update("alice", supervisor=False, territories=["95", "13"], active=False)
    assert accounts.session(token) is None
    assert accounts.authenticate("alice", "mot-de-passe-long") is None
    assert accounts.get("alice").active is False
    accounts.update("alice", supervisor=False, territories=["13"], active=True)
    assert accounts.authenticate("alice", "mot-de-passe-long").territories == ("13",)


def test_the_last_active_supervisor_stays(accounts):
    accounts.add("chef", "mot-de-passe-long", supervisor=True)
    with pytest.raises(AccountError, match="dernier superviseur"):
        accounts.update("chef", supervisor=False, territories=["95"], active=True)
    with pytest.raises(AccountError, match="dernier superviseur"):
        accounts.update("chef", supervisor=True, territories=[], active=False)
    accounts.add("cheffe", "mot-de-passe-long", supervisor=True)
    accounts.update("chef", supervisor=True, territories=[], active=False)  # another one exists now
    with pytest.raises(AccountError, match="inconnu"):
        accounts.update("personne", supervisor=True, territories=[], active=True)


def test_a_new_password_replaces_the_old_and_ends_sessions(accounts):
    alice = accounts.add("alice", "mot-de-passe-long", territories=["95"])
    token, _ = accounts.open_session(alice)
    with pytest.raises(AccountError, match="trop court"):
        accounts.set_password("alice", "court")
    accounts.set_password("alice", "un-tout-nouveau-mot")
    assert accounts.session(token) is None
    assert accounts.authenticate("alice", "mot-de-passe-long") is None
    assert accounts.authenticate("alice", "un-tout-nouveau-mot") is not None


def test_assignments_and_the_audit_log(accounts, store, keyring):
    ref = store.create(make_draft(keyring)).reference
    accounts.assign(ref, "alice")
    accounts.assign(ref, "bob")  # taken over
    assert accounts.assignees([ref, "ZZZZZZZZ"]) == {ref: "bob"}
    accounts.unassign(ref)
    assert accounts.assignees([ref]) == {}
    for action in ("vue", "prise", "note"):
        accounts.audit("alice", action, ref)
    accounts.audit("bob", "connexion")
    entries = accounts.audit_entries()
    assert [e.action for e in entries] == ["connexion", "note", "prise", "vue"]  # newest first
    assert [e.action for e in accounts.audit_entries(reference=ref)] == ["note", "prise", "vue"]
    assert [e.login for e in accounts.audit_entries(login="bob")] == ["bob"]
    page = accounts.audit_entries(2)
    assert [e.action for e in accounts.audit_entries(10, before=page[-1].id)] == ["prise", "vue"]


def test_territories_scope():
    operator = accounts_module.Operator("alice", False, ("95",))
    chef = accounts_module.Operator("chef", True, ())
    assert operator.may_see("95") and not operator.may_see("13") and not operator.may_see(None)
    assert chef.may_see("13") and chef.scope is None and operator.scope == ["95"]


def test_throttle_slows_an_address_with_a_growing_delay_and_never_locks_the_owner_out():
    clock = [0.0]
    throttle = Throttle(
        free_pair=3, free_address=5, free_account=4, base=10, cap=100, window=3600, clock=lambda: clock[0]
    )
    for _ in range(3):
        throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "1.2.3.4") == 11  # 10 s after the third failure
    assert not throttle.blocked("alice", "9.9.9.9")  # the owner, from elsewhere
    clock[0] = 11
    assert not throttle.blocked("alice", "1.2.3.4")
    throttle.failed("alice", "1.2.3.4")  # fourth: 20 s, then 40 s, …
    assert throttle.retry_after("alice", "1.2.3.4") == 21
    clock[0] = 40
    throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "1.2.3.4") == 41
    for _ in range(10):
        throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "1.2.3.4") == 101  # capped
    # From anywhere, the account's answers are only slowed (a few seconds), never refused.
    assert not throttle.blocked("alice", "9.9.9.9") and 0 < throttle.account_delay("alice") <= 4
    assert throttle.account_delay("bob") == 0
    throttle.succeeded("alice", "9.9.9.9")
    assert throttle.account_delay("alice") == 0


def test_throttle_per_address_whoever_logs_in():
    clock = [0.0]
    throttle = Throttle(free_pair=3, free_address=5, base=10, window=60, clock=lambda: clock[0])
    for login in ("a1", "a2", "a3", "a4", "a5"):
        throttle.failed(login, "1.2.3.4")
    assert throttle.blocked("dave", "1.2.3.4") and not throttle.blocked("dave", "5.6.7.8")
    clock[0] = 61
    assert throttle.retry_after("dave", "1.2.3.4") == 0  # the window has passed


def test_logins_are_normalised_before_anything_reads_them():
    from bot.console.accounts import normalize_login

    assert normalize_login("  Demo   ") == "demo" == normalize_login("DEMO\t")
    assert len(normalize_login("x" * 500)) == 64
    assert normalize_login(None) == ""


def test_the_login_check_costs_one_scrypt_known_or_not(accounts, monkeypatch):
    accounts.add("alice", "un mot de passe long", territories=["95"])
    calls = []
    real = accounts_module.verify_password
    monkeypatch.setattr(accounts_module, "verify_password", lambda p, h: calls.append(1) or real(p, h))
    for login, password in (("alice", "faux faux faux"), ("personne", "faux faux faux"), ("alice", "x" * 5000)):
        calls.clear()
        assert accounts.attempt(login, password)[0] is None
        assert len(calls) == 1
    assert accounts.attempt("  ALICE ", "un mot de passe long")[0].login == "alice"
    assert accounts.attempt("personne", "x") == (None, None) and accounts.attempt("alice", "x") == (None, "alice")


def test_csrf_tokens_are_signed_by_the_server(accounts, store):
    accounts.add("alice", "un mot de passe long", territories=["95"])
    token = accounts.login_token()
    assert accounts.login_token_ok(token, token)
    forged = "abc.0123456789abcdef0123456789abcdef"
    assert not accounts.login_token_ok(forged, forged)  # cookie and field match: not enough
    assert not accounts.login_token_ok(token, accounts.login_token())
    cookie, csrf = accounts.open_session(accounts.get("alice"))
    session = accounts.session(cookie)
    assert session.csrf == csrf and accounts.csrf_ok(session, csrf)
    other = Accounts(store).session(cookie)  # another process, same keys
    assert other.csrf == csrf
    second = accounts.session(accounts.open_session(accounts.get("alice"))[0])
    assert second.csrf != csrf and not accounts.csrf_ok(second, csrf)


def test_throttle_forgets_a_spray_of_logins():
    clock = [0.0]
    throttle = Throttle(free_pair=3, free_address=5, window=60, clock=lambda: clock[0])
    throttle.MAX_KEYS = 50
    for i in range(60):
        throttle.failed(f"user{i}", f"10.0.0.{i}")
    clock[0] = 100
    throttle.failed("last", "10.0.1.1")
    assert len(throttle._failures) <= 3
