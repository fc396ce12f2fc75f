"""The statistics page (figures from bot/console/stats.py, for her territories only)."""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request

from bot.console import stats
from bot.console.web import STATUS_LABELS, Console


def register(app: Sanic, c: Console) -> None:
    @app.get("/statistiques")
    async def statistics(request: Request) -> response.HTTPResponse:
        session = c.session_of(request)
        await c.in_thread(c.audit_view, session, "vue_statistiques", request)
        figures = await c.in_thread(stats.compute, c.store, session.operator.scope, targets=c.targets, tz=c.tz)
        charts = {
            "jour": stats.column_chart(figures.per_day, title="Dossiers par jour"),
            "mesure": stats.bar_chart(figures.per_measure, labels=c.measure_labels, title="Par aide demandée"),
            "territoire": stats.bar_chart(figures.per_territory, title="Par territoire"),
            "delai": stats.bar_chart(figures.delay_buckets, title="Délai jusqu'au premier contact"),
            "statut": stats.bar_chart(figures.per_status, labels=STATUS_LABELS, title="Par statut"),
        }
        return c.render("stats.html", session=session, figures=figures, charts=charts)
