"""Console accounts: scrypt hashes, sessions expiring after inactivity, throttling, territories."""
from __future__ import annotations

import datetime as dt

import pytest

import bot.console.accounts as accounts_module
from bot.console.accounts import AccountError, Accounts, Throttle, hash_password, verify_password

from .console_support import store_for


@pytest.fixture
def accounts(tmp_path):
    return Accounts(store_for(tmp_path), session_minutes=30)


def test_passwords_are_salted_scrypt_hashes():
    first, second = hash_password("un mot de passe long"), hash_password("un mot de passe long")
    assert first != second and first.startswith("scrypt$32768$8$1$")
    assert verify_password("un mot de passe long", first) and not verify_password("autre chose", first)
    assert not verify_password("x", "pas un hash")


@pytest.mark.parametrize("login, password, supervisor, territories, message", [
    ("Bad Login!", "mot-de-passe-long", False, ["95"], "identifiant"),
    ("alice", "court", False, ["95"], "trop court"),
    ("alice", "mot-de-passe-long", False, [], "territoire"),
    ("alice", "mot-de-passe-long", False, ["Paris"], "territoire invalide"),
])
def test_bad_accounts_are_refused(accounts, login, password, supervisor, territories, message):
    with pytest.raises(AccountError, match=message):
        accounts.add(login, password, supervisor, territories)


def test_a_session_expires_after_inactivity_and_is_refreshed_by_use(accounts, monkeypatch):
    operator = accounts.add("alice", "mot-de-passe-long", territories=["95"])
    now = [dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(accounts_module, "utcnow", lambda: now[0])
    token, csrf = accounts.open_session(operator)
    now[0] += dt.timedelta(minutes=29)
    assert accounts.session(token).operator.login == "alice"       # used: refreshed
    now[0] += dt.timedelta(minutes=29)
    assert accounts.session(token) is not None
    now[0] += dt.timedelta(minutes=31)
    assert accounts.session(token) is None                         # idle too long
    assert accounts.session(token) is None and accounts.session("forged") is None


def test_csrf_check(accounts):
    operator = accounts.add("chef", "mot-de-passe-long", supervisor=True)
    token, csrf = accounts.open_session(operator)
    session = accounts.session(token)
    assert accounts.csrf_ok(session, csrf) and not accounts.csrf_ok(session, "autre") and not accounts.csrf_ok(session, None)


def test_territories_scope():
    operator = accounts_module.Operator("alice", False, ("95",))
    chef = accounts_module.Operator("chef", True, ())
    assert operator.may_see("95") and not operator.may_see("13") and not operator.may_see(None)
    assert chef.may_see("13") and chef.scope is None and operator.scope == ["95"]


def test_throttle_per_account_and_per_address():
    clock = [0.0]
    throttle = Throttle(per_account=3, per_address=5, window=60, clock=lambda: clock[0])
    for _ in range(3):
        throttle.failed("alice", "1.2.3.4")
    assert throttle.blocked("alice", "9.9.9.9") and not throttle.blocked("bob", "9.9.9.9")
    throttle.failed("bob", "1.2.3.4")
    throttle.failed("carol", "1.2.3.4")
    assert throttle.blocked("dave", "1.2.3.4")                     # the address, whoever logs in
    clock[0] = 61
    assert not throttle.blocked("alice", "1.2.3.4")                # the window has passed
