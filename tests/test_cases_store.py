"""CaseStore on SQLite and PostgreSQL: the same tests on both."""

import logging
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.cases.model import CLOSED, IN_PROGRESS, NEW, TAKEN, WITHDRAWN
from bot.cases.schema import metadata
from bot.cases.store import CaseNotFound, CaseStore, InvalidTransition, StoreUnavailable, make_engine
from tests.cases_support import (  # noqa: F401
    ANSWER,
    CODE_WORD,
    EMAIL,
    FIRST_NAME,
    NOTE,
    OUTCOME,
    PHONE,
    SECRETS,
    TIME_WINDOW,
    _case_env,
    clock,
    db_url,
    dead_url,
    keyring,
    make_draft,
    pg_database,
    raw_dump,
    store,
)


def raw_case(url: str, reference: str) -> dict:
    engine = sa.create_engine(url, future=True)
    with engine.connect() as c:
        row = c.exec_driver_sql(f"SELECT * FROM cases WHERE reference = '{reference}'").mappings().first()
    engine.dispose()
    return dict(row)


def test_create_and_read_back(store, keyring, clock):
    draft = make_draft(keyring, signals=["danger", "menaces"])
    case = store.create(draft)
    assert case.status == NEW and case.priority == "urgent" and case.is_open
    got = store.get(case.reference)
    assert got == case
    assert got.contact.address == PHONE and got.contact.code_word == CODE_WORD
    assert got.contact.first_name == FIRST_NAME and got.contact.time_windows == [TIME_WINDOW]
    assert got.eligibility["answers"]["logement"] == ANSWER
    assert got.danger_signals == ["danger", "menaces"]
    assert got.created_at == clock.now and got.created_at.tzinfo is not None
    assert store.get(case.reference.lower()) == case  # typed by hand
    assert store.get("ZZZZZZZZ") is None and store.get("nonsense") is None
    assert store.open_case(draft.conversation_id) == case


def test_create_is_idempotent_per_conversation(store, keyring, db_url):
    first = store.create(make_draft(keyring))
    again = store.create(make_draft(keyring, signals=["danger"]))  # she retries, even changed
    assert again.reference == first.reference
    other = store.create(make_draft(keyring, raw="someone-else"))
    assert other.reference != first.reference
    assert raw_dump(db_url).count("cases: ") == 2


def test_concurrent_creation_for_one_conversation_gives_one_case(store, keyring, db_url, monkeypatch):
    barrier = threading.Barrier(8)
    refs, errors = [], []
    real_lookup, passed = store._existing_for, threading.local()

    def racing_lookup(draft):
        # Every thread passes the "no case yet" check together: only the database can decide.
        if not getattr(passed, "once", False):
            passed.once = True
            barrier.wait()
            return None
        return real_lookup(draft)

    monkeypatch.setattr(store, "_existing_for", racing_lookup)

    def worker():
        try:
            refs.append(store.create(make_draft(keyring)).reference)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(refs) == 8 and len(set(refs)) == 1
    assert len(store.list_queue()) == 1
    assert len(store.events_since()) == 1


def test_replayed_draft_never_recreates_a_withdrawn_case(store, keyring):
    draft = make_draft(keyring, reference="ABCDEFGH")
    case = store.create(draft)
    assert case.reference == "ABCDEFGH"
    store.withdraw(case.reference)
    assert store.create(draft).status == WITHDRAWN  # the same draft replayed: no new case
    fresh = store.create(make_draft(keyring))  # a new request after withdrawing: a new case
    assert fresh.reference != "ABCDEFGH" and fresh.status == NEW


def test_queue_order_and_filters(store, keyring, clock):
    normal_old = store.create(make_draft(keyring, "a", territory="95"))
    clock.advance(minutes=5)
    high = store.create(make_draft(keyring, "b", signals=["menaces"], territory="93"))
    clock.advance(minutes=5)
    urgent_new = store.create(make_draft(keyring, "c", signals=["enfant"], territory="95"))
    clock.advance(minutes=5)
    urgent_newer = store.create(make_draft(keyring, "d", signals=["danger"], territory="974"))
    clock.advance(minutes=5)
    normal_new = store.create(make_draft(keyring, "e", territory=None))
    closed = store.create(make_draft(keyring, "f", signals=["danger"]))
    store.update_status(closed.reference, CLOSED)

    order = [c.reference for c in store.list_queue()]
    assert order == [
        urgent_new.reference,
        urgent_newer.reference,
        high.reference,
        normal_old.reference,
        normal_new.reference,
    ]
    assert [c.reference for c in store.list_queue(territories=["95"])] == [urgent_new.reference, normal_old.reference]
    assert [c.reference for c in store.list_queue(territories=["974", "93"])] == [
        urgent_newer.reference,
        high.reference,
    ]
    assert [c.reference for c in store.list_queue(statuses=[CLOSED])] == [closed.reference]
    assert len(store.list_queue(limit=2)) == 2


def test_status_transitions_and_events(store, keyring, clock):
    case = store.create(make_draft(keyring))
    clock.advance(hours=1)
    taken = store.update_status(case.reference, TAKEN)
    assert taken.status == TAKEN and taken.updated_at == clock.now and taken.closed_at is None
    assert store.update_status(case.reference, TAKEN).status == TAKEN  # no-op, no event
    store.update_status(case.reference, IN_PROGRESS)
    with pytest.raises(InvalidTransition):
        store.update_status(case.reference, NEW)
    clock.advance(days=2)
    done = store.update_status(case.reference, CLOSED, outcome=OUTCOME)
    assert done.closed_at == clock.now and done.outcome == OUTCOME
    with pytest.raises(InvalidTransition):
        store.update_status(case.reference, IN_PROGRESS)
    with pytest.raises(CaseNotFound):
        store.update_status("ZZZZZZZZ", TAKEN)
    events = store.events_since()
    assert [(e.kind, e.status) for e in events] == [
        ("cree", NEW),
        ("statut", TAKEN),
        ("statut", IN_PROGRESS),
        ("statut", CLOSED),
    ]
    assert all(e.reference == case.reference and e.priority == "normal" and e.territory == "95" for e in events)
    assert [e.id for e in store.events_since(events[1].id)] == [events[2].id, events[3].id]
    assert store.events_since(events[-1].id) == []


def test_follow_yields_new_events(store, keyring):
    stop = threading.Event()
    seen = []

    def console():
        for ev in store.follow(interval=0.05, stop=stop):
            seen.append(ev)
            if len(seen) == 2:
                stop.set()

    t = threading.Thread(target=console)
    t.start()
    case = store.create(make_draft(keyring))
    store.update_status(case.reference, TAKEN)
    t.join(timeout=10)
    assert not t.is_alive()
    assert [e.kind for e in seen] == ["cree", "statut"]


def test_withdraw_erases_personal_fields_at_once(store, keyring, db_url):
    case = store.create(make_draft(keyring))
    store.add_note(case, "referent.95", NOTE)
    store.update_status(case.reference, TAKEN, outcome=OUTCOME)
    [gone] = store.withdraw(case.conversation_id)
    assert gone.status == WITHDRAWN and gone.contact is None and gone.eligibility == {}
    assert gone.danger_signals == [] and gone.outcome is None and gone.closed_at is not None
    row = raw_case(db_url, case.reference)
    assert row["contact_enc"] is None and row["eligibility_enc"] is None
    assert row["danger_signals_enc"] is None and row["outcome_enc"] is None
    assert store.notes(case.reference) == []
    assert store.withdraw(case.conversation_id) == []  # twice: nothing more, no second event
    assert [e.status for e in store.events_since()][-1] == WITHDRAWN
    assert sum(e.status == WITHDRAWN for e in store.events_since()) == 1
    with pytest.raises(InvalidTransition):
        store.add_note(case.reference, "referent.95", "trop tard")
    dump = raw_dump(db_url)
    assert not [s for s in SECRETS if s in dump]


def test_withdraw_by_reference_and_by_time(store, keyring, clock):
    first = store.create(make_draft(keyring))
    assert store.withdraw(first.reference.lower())[0].reference == first.reference
    asked_at = clock.now
    clock.advance(minutes=1)
    second = store.create(make_draft(keyring))  # a new request after the withdrawal
    assert store.withdraw(second.conversation_id, requested_at=asked_at) == []
    assert store.get(second.reference).status == NEW
    assert store.withdraw("not-a-reference") == []
    assert store.update_status(second.reference, WITHDRAWN).status == WITHDRAWN


def test_notes_are_encrypted_and_read_back(store, keyring, db_url):
    case = store.create(make_draft(keyring))
    note = store.add_note(case.reference, "referent.95", NOTE)
    store.add_note(case, "referent.95", "second appel prévu")
    assert [n.text for n in store.notes(case.reference)] == [NOTE, "second appel prévu"]
    assert store.notes(case.reference)[0] == note
    with pytest.raises(CaseNotFound):
        store.add_note("ZZZZZZZZ", "referent.95", "x")
    with pytest.raises(ValueError):
        store.add_note(case, "", "x")


def test_raw_database_holds_no_personal_value(store, keyring, db_url):
    by_phone = store.create(make_draft(keyring, "a", signals=["danger"]))
    by_mail = store.create(make_draft(keyring, "b", via="email"))
    store.add_note(by_phone, "referent.95", NOTE)
    store.update_status(by_mail.reference, CLOSED, outcome=OUTCOME)
    assert store.get(by_mail.reference).contact.address == EMAIL
    dump = raw_dump(db_url)
    assert by_phone.reference in dump and "aide_universelle_urgence" in dump  # the dump works
    leaked = [s for s in SECRETS if s.lower() in dump.lower()]
    assert not leaked
    assert "chat-42" not in dump and "danger" not in dump  # raw chat id, signals: not in clear
    if db_url.startswith("sqlite"):
        path = Path(sa.engine.make_url(db_url).database)
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert not [s for s in SECRETS if s.encode() in blob]


def test_swapped_ciphertexts_between_rows_are_refused(store, keyring, db_url):
    a = store.create(make_draft(keyring, "a"))
    b = store.create(make_draft(keyring, "b"))
    engine = sa.create_engine(db_url, future=True)
    with engine.begin() as c:
        token = c.exec_driver_sql(f"SELECT contact_enc FROM cases WHERE reference='{a.reference}'").scalar()
        c.execute(sa.text("UPDATE cases SET contact_enc = :t WHERE reference = :r"), {"t": token, "r": b.reference})
    engine.dispose()
    from bot.cases.crypto import TamperedError

    with pytest.raises(TamperedError):
        store.get(b.reference)


def test_purge_by_age(store, keyring, clock):
    closed_old = store.create(make_draft(keyring, "a"))
    store.add_note(closed_old, "referent.95", NOTE)
    store.update_status(closed_old.reference, CLOSED)
    withdrawn_old = store.create(make_draft(keyring, "b"))
    store.withdraw(withdrawn_old.reference)
    open_old = store.create(make_draft(keyring, "c"))
    clock.advance(days=25)
    closed_recent = store.create(make_draft(keyring, "d"))
    store.add_note(closed_recent, "referent.95", "récente")
    store.update_status(closed_recent.reference, CLOSED)
    clock.advance(days=6)  # old ones closed 31 days ago, the recent one 6 days ago

    assert store.purge(30) == 2
    assert store.get(closed_old.reference) is None and store.get(withdrawn_old.reference) is None
    assert store.get(open_old.reference).status == NEW  # open cases are never purged
    assert store.get(closed_recent.reference).status == CLOSED
    assert [n.text for n in store.notes(closed_recent.reference)] == ["récente"]
    assert store.notes(closed_old.reference) == []
    remaining = {e.reference for e in store.events_since()}
    assert remaining == {open_old.reference, closed_recent.reference}
    assert store.purge(30) == 0
    assert store.purge(0) == 1  # the recent one, with no retention left


def test_schema_from_migrations_matches_the_metadata(store, db_url):
    store.migrate()  # twice is harmless
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0003"
    engine.dispose()


def test_concurrent_start_ups_migrate_once(db_url, keyring):
    stores = [CaseStore(db_url, keyring=keyring) for _ in range(4)]
    errors = []

    def start(s):
        try:
            s.migrate()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert not errors


def test_unreachable_database_fails_fast_and_plainly(keyring):
    down = CaseStore(dead_url(), keyring=keyring, timeout=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as err:
        down.create(make_draft(keyring))
    assert time.monotonic() - started < 5
    assert "nd_nowhere" not in str(err.value) and "postgres" not in str(err.value)


def test_locked_database_times_out(store, keyring, db_url):
    store.create(make_draft(keyring, "a"))
    case = store.create(make_draft(keyring, "b"))
    quick = CaseStore(db_url, keyring=keyring, timeout=0.5)
    holder = sa.create_engine(db_url, future=True)
    with holder.connect() as conn:
        if db_url.startswith("sqlite"):
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            conn.begin()
            conn.exec_driver_sql(f"SELECT 1 FROM cases WHERE reference='{case.reference}' FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            quick.update_status(case.reference, TAKEN)
        assert time.monotonic() - started < 5
        conn.rollback()
    holder.dispose()
    quick.close()


def test_logs_carry_no_personal_value(store, keyring, caplog):
    caplog.set_level(logging.DEBUG)
    case = store.create(make_draft(keyring, signals=["danger"]))
    store.add_note(case, "referent.95", NOTE)
    store.update_status(case.reference, CLOSED, outcome=OUTCOME)
    store.withdraw(case.conversation_id)
    store.purge(0)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert case.reference in text  # the logs do say what happened
    assert not [s for s in SECRETS if s in text]
    assert case.conversation_id not in text and "chat-42" not in text


def test_sqlite_file_is_private(tmp_path, keyring):
    import stat

    s = CaseStore(f"sqlite:///{tmp_path / 'new' / 'cases.sqlite3'}", keyring=keyring)
    s.create(make_draft(keyring))
    for path in (tmp_path / "new").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    s.close()
