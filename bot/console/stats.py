"""Statistics for the console: counts only, from clear columns; charts as inline SVG."""
from __future__ import annotations

import collections
import datetime as dt
import statistics
from dataclasses import dataclass
from html import escape

import sqlalchemy as sa

from bot.cases.model import IN_PROGRESS, utcnow
from bot.cases.schema import case_events, cases
from bot.cases.store import CaseStore

DAYS = 14


@dataclass(frozen=True)
class Figures:
    total: int
    per_day: list[tuple[str, int]]
    per_measure: list[tuple[str, int]]
    per_territory: list[tuple[str, int]]
    first_contact_hours_median: float | None   # creation -> first « en cours »
    contacted: int


def compute(store: CaseStore, territories: list[str] | None) -> Figures:
    query = sa.select(cases.c.reference, cases.c.created_at, cases.c.measures, cases.c.territory)
    if territories is not None:
        query = query.where(cases.c.territory.in_(territories))
    with store._read() as conn:
        rows = conn.execute(query).all()
        refs = {r.reference: r.created_at for r in rows}
        firsts = conn.execute(sa.select(case_events.c.reference, sa.func.min(case_events.c.at))
                              .where(case_events.c.status == IN_PROGRESS)
                              .group_by(case_events.c.reference)).all()
    today = utcnow().date()
    days = collections.Counter(r.created_at.date() for r in rows)
    per_day = [((today - dt.timedelta(days=i)).strftime("%d/%m"), days.get(today - dt.timedelta(days=i), 0))
               for i in range(DAYS - 1, -1, -1)]
    measures = collections.Counter(m for r in rows for m in (r.measures or []))
    places = collections.Counter(r.territory or "?" for r in rows)
    delays = []
    for ref, first in firsts:
        if ref in refs:
            first = first if first.tzinfo else first.replace(tzinfo=dt.timezone.utc)
            delays.append((first - refs[ref]).total_seconds() / 3600)
    return Figures(len(rows), per_day, measures.most_common(), places.most_common(),
                   round(statistics.median(delays), 1) if delays else None, len(delays))


def bar_chart(values: list[tuple[str, int]], width: int = 560, bar: int = 18) -> str:
    """A horizontal bar chart as SVG markup (labels escaped; no script, allowed by the CSP)."""
    if not values:
        return '<p class="vide">Aucune donnée.</p>'
    top = max(v for _, v in values) or 1
    height = len(values) * (bar + 6) + 6
    parts = [f'<svg class="graphique" width="{width}" height="{height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(values):
        y = 6 + i * (bar + 6)
        length = int((width - 200) * value / top)
        parts.append(f'<text x="0" y="{y + bar - 5}" font-size="12">{escape(str(label))}</text>'
                     f'<rect x="130" y="{y}" width="{max(length, 1)}" height="{bar}" fill="#5b4b8a"/>'
                     f'<text x="{136 + length}" y="{y + bar - 5}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)
