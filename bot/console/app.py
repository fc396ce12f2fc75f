"""The operator console: a Sanic web app on port 8080, apart from the public bot.

It reads cases through bot.cases only (no Rasa). Every page but login needs a
session; every form carries a CSRF token; every case view and change is audited.
Bad input gets a French message and a 4xx; nothing personal reaches the logs
(access log off, errors logged by class name only).

This module only assembles it; the routes live by concern: auth.py (login, sessions),
cases.py (queue and case pages), events.py (live feed), statistics.py, operators.py
(supervisors), live.py (live takeover); web.py holds what they share.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic

from bot.cases.store import CaseStore
from bot.config import response_hours
from bot.console import auth, cases, events, operators, statistics, web
from bot.console import live as live_console
from bot.console.accounts import Accounts, Throttle
from bot.console.web import (
    AUDIT_LABELS,
    CHANNEL_LABELS,
    HERE,
    PRIORITY_LABELS,
    SIGNAL_LABELS,
    STATUS_LABELS,
    Console,
    duration,
)

log = logging.getLogger(__name__)


def response_targets(path: Path | None = None) -> dict[str, int]:
    """Hours per priority, from bot.config.response_delays: the bot tells her the same delays."""
    return response_hours()


def console_timezone(name: str | None = None) -> dt.tzinfo:
    """Where the operators are: ND_CONSOLE_TZ, Europe/Paris by default (UTC if unknown)."""
    try:
        return ZoneInfo(name or os.environ.get("ND_CONSOLE_TZ") or "Europe/Paris")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone.utc


def env_session_minutes() -> int:
    value = os.environ.get("ND_CONSOLE_SESSION_MINUTES", "30")
    try:
        minutes = int(value)
    except ValueError:
        raise ValueError(f"ND_CONSOLE_SESSION_MINUTES doit être un nombre de minutes (reçu : {value!r})") from None
    if not 1 <= minutes <= 24 * 60:
        raise ValueError("ND_CONSOLE_SESSION_MINUTES : entre 1 et 1440 minutes")
    return minutes


def _eligibility_labels() -> tuple[dict[str, str], dict[str, str], Callable[[], Any] | None]:
    """Measure titles and outcome labels from the rules (the words she read); ids if they fail to load."""
    try:
        from bot.eligibility.service import default_eligibility

        engine = default_eligibility()
        return (
            {m: measure.title for m, measure in engine.rules.measures.items()},
            dict(engine.rules.outcome_labels),
            lambda: engine,
        )
    except Exception as exc:  # noqa: BLE001 - the console must run even if the rules are broken
        log.warning("règles d'éligibilité illisibles (%s) : libellés bruts", type(exc).__name__)
        return {}, {}, None


def create_app(
    store: CaseStore | None = None,
    *,
    name: str = "nd_console",
    session_minutes: int | None = None,
    secure_cookies: bool | None = None,
    poll_seconds: float = 1.0,
    throttle: Throttle | None = None,
    targets: Mapping[str, int] | None = None,
    tz: dt.tzinfo | None = None,
    ping_seconds: float = 15.0,
) -> Sanic:
    """The console. Unset arguments come from the environment (ND_CONSOLE_SESSION_MINUTES,
    ND_CONSOLE_SECURE_COOKIES, ND_CONSOLE_TZ) and from bot.config.response_delays (targets)."""
    store = store or CaseStore()
    session_minutes = env_session_minutes() if session_minutes is None else session_minutes
    if secure_cookies is None:
        secure_cookies = os.environ.get("ND_CONSOLE_SECURE_COOKIES") == "1"
    accounts = Accounts(store, session_minutes)
    throttle = throttle or Throttle()
    targets = dict(targets or response_targets())
    tz = tz or console_timezone()
    measure_labels, outcome_labels, eligibility_engine = _eligibility_labels()

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))

    def local(value: dt.datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else ""

    env.filters["local"] = local
    env.filters["heures"] = lambda hours: duration(dt.timedelta(hours=hours))
    env.filters["measure"] = lambda m: measure_labels.get(m, m)
    env.globals.update(
        status_labels=STATUS_LABELS,
        priority_labels=PRIORITY_LABELS,
        signal_labels=SIGNAL_LABELS,
        channel_labels=CHANNEL_LABELS,
        audit_labels=AUDIT_LABELS,
        outcome_labels=outcome_labels,
        measure_labels=measure_labels,
        targets=targets,
        tz_name=str(tz),
    )

    taken, base = 1, name
    while name in Sanic._app_registry:  # a second console in one process (tests): a name of its own
        taken += 1
        name = f"{base}_{taken}"
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 2  # open live feeds must not hold a restart for 15 s
    app.ctx.store, app.ctx.accounts, app.ctx.throttle = store, accounts, throttle

    console = Console(
        app=app,
        store=store,
        accounts=accounts,
        throttle=throttle,
        env=env,
        targets=targets,
        tz=tz,
        secure_cookies=secure_cookies,
        poll_seconds=poll_seconds,
        ping_seconds=ping_seconds,
        measure_labels=measure_labels,
        eligibility_engine=eligibility_engine,
    )
    auth.register(app, console)  # first: its middleware reads the session before every other route
    web.register(app, console)
    cases.register(app, console)
    events.register(app, console)
    statistics.register(app, console)
    operators.register(app, console)
    live_console.register(app, console)
    return app
