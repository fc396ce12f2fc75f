"""Retention that runs: purge, outbox replay and the daily check of late cases.

`python -m bot scheduler` runs `Scheduler.run_forever` in its own small process
(scripts/run_all.sh starts it). Each job runs once at start, then on its period;
the clock is injectable so that tests never depend on today's date. Production
may instead run the one-shot commands from cron, a systemd timer or a
Kubernetes CronJob (README).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Mapping

import sqlalchemy as sa

from bot.cases import config
from bot.cases.model import NEW, TAKEN, utcnow
from bot.cases.outbox import Outbox
from bot.cases.schema import audit_log, cases
from bot.cases.store import CaseStore, StoreUnavailable

log = logging.getLogger(__name__)
SCHEDULER_LOGIN = "#planificateur"  # the audit log's author for what the scheduler notes
LATE = "en_retard"
# No first contact yet: the response target still runs (the console's queue reads it the same way).
WAITING = (NEW, TAKEN)


@dataclass(frozen=True)
class LateCase:
    reference: str
    priority: str
    territory: str | None
    due: dt.datetime


def late_cases(store: CaseStore, targets: Mapping[str, int], now: dt.datetime) -> list[LateCase]:
    """Open cases still waiting for a first contact past their response target."""
    with store._read() as conn:
        rows = conn.execute(
            sa.select(cases.c.reference, cases.c.priority, cases.c.territory, cases.c.created_at).where(
                cases.c.status.in_(WAITING)
            )
        ).all()
    found = []
    for r in rows:
        due = r.created_at + dt.timedelta(hours=targets.get(r.priority, 120))
        if due < now:
            found.append(LateCase(r.reference, r.priority, r.territory, due))
    return sorted(found, key=lambda c: c.due)


def flag_late(store: CaseStore, targets: Mapping[str, int], now: dt.datetime) -> list[LateCase]:
    """Notes each late case once in the audit log (the case page's history and the journal show it);
    returns every late case. The queue marks them « en retard » from the same rule."""
    late = late_cases(store, targets, now)
    if not late:
        return late
    with store._tx() as conn:
        already = {
            r.reference
            for r in conn.execute(
                sa.select(audit_log.c.reference).where(
                    audit_log.c.action == LATE, audit_log.c.reference.in_([c.reference for c in late])
                )
            )
        }
        for case in late:
            if case.reference not in already:
                conn.execute(
                    audit_log.insert().values(
                        at=now,
                        login=SCHEDULER_LOGIN,
                        action=LATE,
                        reference=case.reference,
                        detail=f"priorité {case.priority}",
                    )
                )
    return late


class Scheduler:
    """Purge (`purge_every`), outbox replay (`flush_every`, a minute) and the late check (daily)."""

    def __init__(
        self,
        store: CaseStore,
        outbox: Outbox | None = None,
        *,
        targets: Mapping[str, int] | None = None,
        retention_days: int | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        flush_every: float = 60,
        purge_every: float = 24 * 3600,
        late_every: float = 24 * 3600,
    ):
        self.store = store
        self.outbox = outbox or Outbox(store)
        self.targets = dict(targets) if targets is not None else _default_targets()
        self.retention_days = config.retention_days() if retention_days is None else retention_days
        self.clock = clock
        self.periods = {"outbox": flush_every, "purge": purge_every, "retard": late_every}
        self._last: dict[str, dt.datetime] = {}

    def due(self, job: str, now: dt.datetime) -> bool:
        last = self._last.get(job)
        return last is None or (now - last).total_seconds() >= self.periods[job]

    def tick(self) -> dict[str, int]:
        """Runs whatever is due now; a failing job is logged by type and retried next tick."""
        now = self.clock()
        done: dict[str, int] = {}
        jobs: dict[str, Callable[[], int]] = {
            "outbox": self._flush,
            "purge": self._purge,
            "retard": lambda: len(flag_late(self.store, self.targets, now)),
        }
        for job, run in jobs.items():
            if not self.due(job, now):
                continue
            try:
                done[job] = run()
                self._last[job] = now
            except StoreUnavailable:
                log.warning("planificateur : %s reporté, base de données indisponible", job)
            except Exception as exc:  # noqa: BLE001 - one job failing must not stop the others
                log.error("planificateur : %s en échec (%s)", job, type(exc).__name__)
        if done:
            log.info("planificateur : %s", ", ".join(f"{k} {v}" for k, v in sorted(done.items())))
        return done

    def _flush(self) -> int:
        report = self.outbox.flush()
        return report.replayed

    def _purge(self) -> int:
        return self.store.purge(self.retention_days)

    def run_forever(self, stop: threading.Event | None = None, interval: float = 5.0) -> None:
        """Every job once at start, then each on its period, until `stop` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self.tick()
            stop.wait(interval)


def _default_targets() -> dict[str, int]:
    from bot.config import response_delays

    return {p: d.hours for p, d in response_delays().items()}
