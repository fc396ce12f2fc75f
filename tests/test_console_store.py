"""What the console adds on the case store, on SQLite and PostgreSQL: the live feed's starting
cursor and the statistics (counts only, from clear columns)."""

from __future__ import annotations

import datetime as dt

from bot.cases.model import CLOSED, IN_PROGRESS, TAKEN
from bot.console import stats
from tests.cases_support import (  # noqa: F401
    SECRETS,
    _case_env,
    clock,
    db_url,
    keyring,
    make_draft,
    pg_database,
    store,
)


def test_last_event_id_is_where_a_live_feed_starts(store, keyring):
    assert store.last_event_id() == 0
    first = store.create(make_draft(keyring, "a"))
    cursor = store.last_event_id()
    assert [e.reference for e in store.events_since(0)] == [first.reference]
    second = store.create(make_draft(keyring, "b"))
    store.update_status(first.reference, TAKEN)
    assert store.last_event_id() > cursor
    assert [(e.reference, e.kind) for e in store.events_since(cursor)] == [
        (second.reference, "cree"),
        (first.reference, "statut"),
    ]
    assert store.events_since(store.last_event_id()) == []


def test_statistics_count_per_day_measure_territory_and_first_contact(store, keyring, clock):
    start = clock.now
    urgent = store.create(make_draft(keyring, "a", signals=["danger"], territory="95", measures=["auu", "logement"]))
    clock.advance(days=1)
    normal = store.create(make_draft(keyring, "b", territory="13", measures=["auu"]))
    store.create(make_draft(keyring, "c", territory="95", measures=["psy"]))
    clock.advance(minutes=30)
    store.update_status(urgent.reference, IN_PROGRESS)  # 24 h 30 after it came: late for urgent
    clock.advance(hours=2)
    store.update_status(normal.reference, TAKEN)
    store.update_status(normal.reference, IN_PROGRESS)  # 2 h 30 after: on time for normal
    store.update_status(normal.reference, CLOSED, outcome="orientée")

    figures = stats.compute(store, None, targets={"urgent": 1, "high": 24, "normal": 120}, now=clock.now)
    assert figures.total == 3
    days = dict(figures.per_day)
    assert days[start.strftime("%d/%m")] == 1 and days[clock.now.strftime("%d/%m")] == 2
    assert len(figures.per_day) == stats.DAYS
    assert dict(figures.per_measure) == {"auu": 2, "logement": 1, "psy": 1}
    assert dict(figures.per_territory) == {"95": 2, "13": 1}
    assert dict(figures.per_status) == {"nouveau": 1, "en_cours": 1, "clos": 1}
    assert figures.contacted == 2 and figures.first_contact_hours_median == 13.5
    assert dict(figures.delay_buckets) == {"moins d'1 h": 0, "1 à 24 h": 1, "1 à 5 jours": 1, "plus de 5 jours": 0}
    by_priority = {p.priority: p for p in figures.per_priority}
    assert (by_priority["urgent"].contacted, by_priority["urgent"].on_time) == (1, 0)
    assert (by_priority["normal"].contacted, by_priority["normal"].on_time, by_priority["normal"].median_hours) == (
        1,
        1,
        2.5,
    )

    mine = stats.compute(store, ["13"], now=clock.now)  # an operator of the 13
    assert mine.total == 1 and dict(mine.per_territory) == {"13": 1} and mine.contacted == 1


def test_charts_are_escaped_svg_without_personal_data(store, keyring):
    store.create(make_draft(keyring, "a", measures=["auu"]))
    figures = stats.compute(store, None)
    svg = stats.bar_chart(figures.per_measure, labels={"auu": "Aide <urgence> & co"}, title="Par aide")
    assert svg.startswith("<svg") and "&lt;urgence&gt; &amp; co" in svg and "<script" not in svg
    day = stats.column_chart(figures.per_day, title="Par jour")
    assert day.count("<rect") == stats.DAYS
    assert not any(secret in svg + day for secret in SECRETS)
    assert stats.bar_chart([]) == '<p class="vide">Aucune donnée.</p>'


def test_days_are_counted_in_the_operators_time_zone(store, keyring, clock):
    from zoneinfo import ZoneInfo

    clock.now = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone.utc)  # already 2 March in Paris
    store.create(make_draft(keyring, "a"))
    figures = stats.compute(store, None, tz=ZoneInfo("Europe/Paris"), now=clock.now)
    assert dict(figures.per_day)["02/03"] == 1
