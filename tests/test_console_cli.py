"""`python -m bot operator …` and `demo-admin`, run in-process over a temporary state folder."""

from __future__ import annotations

import io

import pytest

from bot.__main__ import main
from bot.cases.store import CaseStore
from bot.console.accounts import Accounts
from tests.cases_support import _case_env  # noqa: F401


def run(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def accounts() -> Accounts:
    return Accounts(CaseStore())


def test_operator_add_reads_the_password_from_stdin(capsys, monkeypatch):
    code, out, _ = run(
        capsys,
        monkeypatch,
        "operator",
        "add",
        "alice",
        "--territory",
        "95",
        "--territory",
        "974",
        stdin="alice-mot-de-passe\n",
    )
    assert code == 0 and "alice créé (opérateur ; 95, 974)" in out and "alice-mot-de-passe" not in out
    assert accounts().authenticate("alice", "alice-mot-de-passe").territories == ("95", "974")
    code, _, err = run(capsys, monkeypatch, "operator", "add", "bob", "--territory", "13", stdin="court\n")
    assert code == 1 and "trop court" in err


def test_operator_list_passwd_disable_enable(capsys, monkeypatch):
    run(capsys, monkeypatch, "operator", "add", "chef", "--supervisor", stdin="chef-mot-de-passe\n")
    run(capsys, monkeypatch, "operator", "add", "alice", "--territory", "95", stdin="alice-mot-de-passe\n")
    code, out, _ = run(capsys, monkeypatch, "operator", "list")
    assert code == 0 and out.splitlines() == ["alice\topérateur\t95", "chef\tsuperviseur\ttous les territoires"]
    assert run(capsys, monkeypatch, "operator", "passwd", "alice", stdin="nouveau-mot-de-passe\n")[0] == 0
    assert accounts().authenticate("alice", "nouveau-mot-de-passe") is not None
    assert run(capsys, monkeypatch, "operator", "disable", "alice")[0] == 0
    assert accounts().authenticate("alice", "nouveau-mot-de-passe") is None
    assert "désactivé" in run(capsys, monkeypatch, "operator", "list")[1]
    assert run(capsys, monkeypatch, "operator", "enable", "alice")[0] == 0
    assert accounts().authenticate("alice", "nouveau-mot-de-passe") is not None
    code, _, err = run(capsys, monkeypatch, "operator", "disable", "chef")
    assert code == 1 and "dernier superviseur" in err
    code, _, err = run(capsys, monkeypatch, "operator", "passwd", "personne", stdin="nouveau-mot-de-passe\n")
    assert code == 1 and "inconnu" in err
    assert run(capsys, monkeypatch, "operator", "passwd")[0] == 2
    assert [e.login for e in accounts().audit_entries()][:3] == ["#cli"] * 3


def test_demo_admin_only_on_a_fresh_install(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "demo-admin")
    password = out.split("mot de passe « ")[1].split(" »")[0]
    assert code == 0 and accounts().authenticate("demo", password).supervisor
    code, out, _ = run(capsys, monkeypatch, "demo-admin")
    assert code == 0 and "existent déjà" in out and "mot de passe «" not in out


def test_no_demo_supervisor_in_production(capsys, monkeypatch):
    monkeypatch.setenv("ND_DEMO", "0")
    code, out, _ = run(capsys, monkeypatch, "demo-admin")
    assert code == 0 and "ND_DEMO=0" in out and "mot de passe «" not in out
    assert accounts().count() == 0
    monkeypatch.setenv("ND_DEMO", "1")
    code, out, _ = run(capsys, monkeypatch, "demo-admin")
    assert code == 0 and "mot de passe « " in out and accounts().count() == 1


def test_console_refuses_a_bad_session_setting(capsys, monkeypatch):
    monkeypatch.setenv("ND_CONSOLE_SESSION_MINUTES", "trente")
    code, _, err = run(capsys, monkeypatch, "console", "--port", "1")
    assert code == 2 and "ND_CONSOLE_SESSION_MINUTES" in err


@pytest.mark.parametrize("value", ["0", "100000"])
def test_session_minutes_stay_in_range(capsys, monkeypatch, value):
    monkeypatch.setenv("ND_CONSOLE_SESSION_MINUTES", value)
    assert run(capsys, monkeypatch, "console", "--port", "1")[0] == 2
