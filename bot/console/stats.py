"""Statistics for the console: counts only, from clear columns; charts as inline SVG.

Nothing here decrypts anything: the figures come from the clear columns of the
case store (dates, priority, territory, measures, status) and from its events.
"""

from __future__ import annotations

import collections
import datetime as dt
import statistics
from dataclasses import dataclass
from html import escape
from typing import Mapping, Sequence

import sqlalchemy as sa

from bot.cases.model import IN_PROGRESS, PRIORITIES, utcnow
from bot.cases.schema import case_events, cases
from bot.cases.store import CaseStore

DAYS = 14
# Time to first contact, in hours: the buckets of its chart.
DELAY_BUCKETS = ((1, "moins d'1 h"), (24, "1 à 24 h"), (120, "1 à 5 jours"), (None, "plus de 5 jours"))


@dataclass(frozen=True)
class PriorityDelay:
    priority: str
    contacted: int
    median_hours: float | None
    on_time: int  # first contact within the response target


@dataclass(frozen=True)
class Figures:
    total: int
    per_day: list[tuple[str, int]]
    per_measure: list[tuple[str, int]]
    per_territory: list[tuple[str, int]]
    first_contact_hours_median: float | None  # creation -> first « en cours »
    contacted: int
    per_status: Sequence[tuple[str, int]] = ()
    delay_buckets: Sequence[tuple[str, int]] = ()
    per_priority: Sequence[PriorityDelay] = ()


def compute(
    store: CaseStore,
    territories: list[str] | None,
    *,
    targets: Mapping[str, int] | None = None,
    tz: dt.tzinfo = dt.timezone.utc,
    now: dt.datetime | None = None,
) -> Figures:
    """Figures over the cases of `territories` (None: all). First contact: the case's first
    move to « en cours ». Days are counted in `tz` (the operators' time zone)."""
    targets = targets or {}
    query = sa.select(
        cases.c.reference, cases.c.created_at, cases.c.measures, cases.c.territory, cases.c.priority, cases.c.status
    )
    firsts_query = (
        sa.select(case_events.c.reference, sa.func.min(case_events.c.at).label("first"))
        .where(case_events.c.status == IN_PROGRESS)
        .group_by(case_events.c.reference)
    )
    if territories is not None:
        query = query.where(cases.c.territory.in_(territories))
        firsts_query = firsts_query.where(case_events.c.territory.in_(territories))
    with store.reading() as conn:
        rows = conn.execute(query).all()
        firsts = conn.execute(firsts_query).all()
    today = (now or utcnow()).astimezone(tz).date()
    days = collections.Counter(r.created_at.astimezone(tz).date() for r in rows)
    per_day = [
        ((today - dt.timedelta(days=i)).strftime("%d/%m"), days.get(today - dt.timedelta(days=i), 0))
        for i in range(DAYS - 1, -1, -1)
    ]
    measures = collections.Counter(m for r in rows for m in (r.measures or []))
    places = collections.Counter(r.territory or "?" for r in rows)
    status_counts = collections.Counter(r.status for r in rows)

    by_ref = {r.reference: r for r in rows}
    delays: dict[str, list[float]] = collections.defaultdict(list)
    for ref, first in firsts:
        row = by_ref.get(ref)
        if row is not None:
            delays[row.priority].append(max(0.0, (first - row.created_at).total_seconds() / 3600))
    every = [d for ds in delays.values() for d in ds]
    buckets = []
    low = 0
    for high, label in DELAY_BUCKETS:
        buckets.append((label, sum(1 for d in every if d >= low and (high is None or d < high))))
        low = high or 0
    per_priority = [
        PriorityDelay(
            p, len(delays[p]), _median(delays[p]), sum(1 for d in delays[p] if p in targets and d <= targets[p])
        )
        for p in PRIORITIES
    ]
    return Figures(
        len(rows),
        per_day,
        measures.most_common(),
        places.most_common(),
        _median(every),
        len(every),
        sorted(status_counts.items()),
        buckets,
        per_priority,
    )


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _labelled(values: Sequence[tuple[str, int]], labels: Mapping[str, str] | None) -> list[tuple[str, int]]:
    return [((labels or {}).get(k, k), v) for k, v in values]


def bar_chart(
    values: Sequence[tuple[str, int]],
    width: int = 560,
    bar: int = 18,
    labels: Mapping[str, str] | None = None,
    title: str = "",
) -> str:
    """A horizontal bar chart as SVG markup (labels escaped; no script, no style: allowed by the CSP)."""
    values = _labelled(values, labels)
    if not values:
        return '<p class="vide">Aucune donnée.</p>'
    top = max(v for _, v in values) or 1
    height = len(values) * (bar + 6) + 6
    label_width = 190
    parts = [
        f'<svg class="graphique" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for i, (label, value) in enumerate(values):
        y = 6 + i * (bar + 6)
        length = int((width - label_width - 50) * value / top)
        parts.append(
            f'<text x="0" y="{y + bar - 5}" font-size="12">{escape(str(label)[:30])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{max(length, 1)}" height="{bar}" fill="#5b4b8a">'
            f"<title>{escape(str(label))} : {int(value)}</title></rect>"
            f'<text x="{label_width + 6 + length}" y="{y + bar - 5}" font-size="12">{int(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(values: Sequence[tuple[str, int]], width: int = 640, height: int = 180, title: str = "") -> str:
    """Vertical bars for a time series (cases per day), as SVG markup."""
    if not values:
        return '<p class="vide">Aucune donnée.</p>'
    top = max(v for _, v in values) or 1
    plot = height - 40
    step = width / len(values)
    parts = [
        f'<svg class="graphique" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    parts.append(f'<line x1="0" y1="{plot + 14}" x2="{width}" y2="{plot + 14}" stroke="#999"/>')
    for i, (label, value) in enumerate(values):
        h = int(plot * value / top)
        x = int(i * step + 3)
        w = max(int(step) - 6, 2)
        parts.append(
            f'<rect x="{x}" y="{plot + 14 - h}" width="{w}" height="{max(h, 0)}" fill="#5b4b8a">'
            f"<title>{escape(str(label))} : {int(value)}</title></rect>"
        )
        if value:
            parts.append(
                f'<text x="{x + w // 2}" y="{plot + 10 - h}" font-size="11" text-anchor="middle">{int(value)}</text>'
            )
        parts.append(
            f'<text x="{x + w // 2}" y="{height - 6}" font-size="10" text-anchor="middle">{escape(str(label))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
