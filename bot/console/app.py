"""The operator console: a Sanic web app on port 8080, apart from the public bot.

It reads cases through bot.cases only (no Rasa). Every page but login needs a
session; every form carries a CSRF token; every case view and change is audited.
Bad input gets a French message and a 4xx; nothing personal reaches the logs
(access log off, errors logged by class name only).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound, PayloadTooLarge, SanicException
from sanic.request import Request

from bot.cases.model import (CLOSED, IN_PROGRESS, NEW, OPEN_STATUSES, STATUSES, TAKEN, TRANSITIONS, WITHDRAWN,
                             normalize_reference, utcnow)
from bot.cases.store import CaseNotFound, CaseStore, InvalidTransition, StoreUnavailable
from bot.config import response_delays, settings
from bot.console import live as live_console
from bot.console import stats
from bot.console.accounts import TERRITORY, AccountError, Accounts, Session, Throttle, normalize_login

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
COOKIE = "nd_console"
LOGIN_COOKIE = "nd_login"
MAX_NOTE = 2000
MAX_OUTCOME = 200
MAX_FORM_FIELDS = 20
MAX_URL = 8 * 1024
# The queue's background refresh is audited at most this often per session (not every few seconds).
FRAGMENT_AUDIT_SECONDS = 300
# Pages fetched by the queue's script on its own: they neither extend a session nor redirect.
PASSIVE_PATHS = ("/file", "/evenements")
STATUS_LABELS = {NEW: "nouveau", TAKEN: "pris en charge", IN_PROGRESS: "en cours", CLOSED: "clos",
                 WITHDRAWN: "retiré"}
PRIORITY_LABELS = {"urgent": "urgent", "high": "élevée", "normal": "normale"}
SIGNAL_LABELS = {"danger": "danger immédiat (17 / 112)", "agresseur_present": "agresseur présent (SMS 114)",
                 "enfant": "enfant en danger (119)", "suicide": "idées suicidaires (3114)"}
CHANNEL_LABELS = {"appel": "Appel téléphonique", "sms": "SMS", "email": "E-mail", "ici": "Dans la conversation"}
AUDIT_LABELS = {"vue": "consultation", "prise": "prise en charge", "statut": "changement de statut",
                "note": "note ajoutée", "connexion": "connexion", "deconnexion": "déconnexion",
                "connexion_refusee": "connexion refusée", "refus": "accès refusé", "compte_cree": "compte créé",
                "compte_modifie": "compte modifié", "mot_de_passe": "mot de passe changé",
                "vue_file": "consultation de la file", "vue_statistiques": "consultation des statistiques",
                "reprise_demandee": "reprise demandée (confirmation)", "plan": "plan de contact modifié par elle",
                "en_retard": "signalé en retard", "flux": "file en direct ouverte"}
AUDIT_LABELS.update(live_console.AUDIT_LABELS)
OUTCOME_SUGGESTIONS = ("contactée, orientée vers le pack", "contactée, accompagnement en cours ailleurs",
                       "injoignable après plusieurs essais", "ne souhaite plus être contactée",
                       "orientée vers une association locale")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; media-src 'self' data:")


class ConsoleError(SanicException):
    """A French message with a 4xx status."""

    def __init__(self, message: str, status: int = 400, headers: Mapping[str, str] | None = None):
        super().__init__(message, status_code=status)
        self.message = message
        self.extra_headers = dict(headers or {})


def response_targets(path: Path | None = None) -> dict[str, int]:
    """Hours per priority, from bot.config.response_delays: the bot tells her the same delays."""
    return {p: d.hours for p, d in response_delays().items()}


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


def _json(body: Any, status: int = 200) -> response.HTTPResponse:
    return response.json(body, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def _eligibility_labels() -> tuple[dict[str, str], dict[str, str], Callable | None]:
    """Measure titles and outcome labels from the rules (the words she read); ids if they fail to load."""
    try:
        from bot.eligibility.service import default_eligibility

        engine = default_eligibility()
        return ({m: measure.title for m, measure in engine.rules.measures.items()},
                dict(engine.rules.outcome_labels), lambda: engine)
    except Exception as exc:  # noqa: BLE001 - the console must run even if the rules are broken
        log.warning("règles d'éligibilité illisibles (%s) : libellés bruts", type(exc).__name__)
        return {}, {}, None


def create_app(store: CaseStore | None = None, *, name: str = "nd_console", session_minutes: int | None = None,
               secure_cookies: bool | None = None, poll_seconds: float = 1.0, throttle: Throttle | None = None,
               targets: Mapping[str, int] | None = None, tz: dt.tzinfo | None = None,
               ping_seconds: float = 15.0) -> Sanic:
    """The console. Unset arguments come from the environment (ND_CONSOLE_SESSION_MINUTES,
    ND_CONSOLE_SECURE_COOKIES, ND_CONSOLE_TZ) and from data/contact/contact.yml (targets)."""
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
    env.filters["heures"] = lambda hours: _duration(dt.timedelta(hours=hours))
    env.filters["measure"] = lambda m: measure_labels.get(m, m)
    env.globals.update(status_labels=STATUS_LABELS, priority_labels=PRIORITY_LABELS, signal_labels=SIGNAL_LABELS,
                       channel_labels=CHANNEL_LABELS, audit_labels=AUDIT_LABELS, outcome_labels=outcome_labels,
                       measure_labels=measure_labels, targets=targets, tz_name=str(tz))

    taken, base = 1, name
    while name in Sanic._app_registry:  # a second console in one process (tests): a name of its own
        taken += 1
        name = f"{base}_{taken}"
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 2  # open live feeds must not hold a restart for 15 s
    app.ctx.store, app.ctx.accounts, app.ctx.throttle = store, accounts, throttle

    def render(template: str, status: int = 200, **values: Any) -> response.HTTPResponse:
        # `status` is the HTTP status: template values must not use that name.
        return response.html(env.get_template(template).render(**values), status=status)

    def set_cookie(resp: response.HTTPResponse, key: str, value: str, max_age: int | None = None) -> None:
        resp.cookies[key] = value
        cookie = resp.cookies[key]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        if secure_cookies:
            cookie["secure"] = True
        if max_age is not None:
            cookie["max-age"] = max_age

    def drop_cookie(resp: response.HTTPResponse, key: str) -> None:
        set_cookie(resp, key, "", 0)

    def session_of(request: Request) -> Session:
        session = request.ctx.session
        if session is None:
            raise ConsoleError("Session expirée ou absente : connectez-vous.", 401)
        return session

    def form(request: Request) -> dict[str, str]:
        """The posted form, parsed strictly: URL-encoded UTF-8 only, a few fields, no NUL."""
        if getattr(request.ctx, "form", None) is not None:
            return request.ctx.form
        kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if request.body and kind != "application/x-www-form-urlencoded":
            raise ConsoleError("Formulaire illisible : envoyez-le depuis la console.", 400)
        try:
            parsed = parse_qs((request.body or b"").decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                              encoding="utf-8", errors="strict", max_num_fields=MAX_FORM_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise ConsoleError("Formulaire illisible : caractères ou champs invalides.", 400) from None
        values = {k: (v[0] if v else "") for k, v in parsed.items()}
        if any("\x00" in k or "\x00" in v for k, v in values.items()):
            raise ConsoleError("Formulaire illisible : caractères invalides.", 400)
        request.ctx.form = values
        return values

    def form_value(request: Request, key: str) -> str:
        return form(request).get(key, "").strip()

    def check_csrf(request: Request, session: Session) -> None:
        if not accounts.csrf_ok(session, form_value(request, "csrf")):
            raise ConsoleError("Jeton de sécurité invalide : rechargez la page et recommencez.", 403)

    def visible_case(session: Session, reference: str):
        ref = normalize_reference(reference)
        case = store.get(ref) if ref else None
        if case is None:
            raise ConsoleError("Dossier introuvable : vérifiez la référence.", 404)
        if not session.operator.may_see(case.territory):
            accounts.audit(session.operator.login, "refus", case.reference)
            raise ConsoleError("Ce dossier n'appartient pas à vos territoires.", 403)
        return case

    def in_thread(func: Callable, *args: Any, **kwargs: Any):
        # Database work off the event loop: a slow database must not freeze the live feeds.
        return asyncio.to_thread(func, *args, **kwargs)

    # -- plumbing ------------------------------------------------------------------
    @app.middleware("request")
    async def load_session(request: Request):
        request.ctx.session = None
        request.ctx.form = None
        if request.method == "NONE":
            return  # Sanic's stand-in for a request it could not read (e.g. headers over 8 kB): its error decides
        if len(request.path) + len(request.query_string or "") > MAX_URL:
            return error_page(request, 414, "Adresse trop longue.")
        if request.path.startswith("/static/") or request.path in ("/login", "/favicon.ico"):
            return
        passive = request.path in PASSIVE_PATHS
        request.ctx.session = await in_thread(accounts.session, request.cookies.get(COOKIE), not passive)
        if request.ctx.session is None:
            if passive:
                return _json({"erreur": "Session expirée ou absente : connectez-vous."}, status=401)
            if request.method in ("GET", "HEAD"):
                return response.redirect("/login")
            return render("error.html", status=401, message="Session expirée ou absente : connectez-vous.",
                          session=None, login_link=True)

    @app.middleware("response")
    async def security_headers(request: Request, resp: response.HTTPResponse):
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if secure_cookies:
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"

    def error_page(request: Request, status: int, message: str) -> response.HTTPResponse:
        if request.path in PASSIVE_PATHS or request.headers.get("accept", "").startswith("application/json"):
            return _json({"erreur": message}, status=status)
        return render("error.html", status=status, message=message, session=getattr(request.ctx, "session", None),
                      login_link=status == 401)

    @app.exception(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError):
        resp = error_page(request, exc.status_code, exc.message)
        resp.headers.update(exc.extra_headers)
        return resp

    @app.exception(NotFound, MethodNotSupported)
    async def not_found(request: Request, exc: Exception):
        if isinstance(exc, MethodNotSupported):
            return error_page(request, 405, "Méthode non permise.")
        return error_page(request, 404, "Page introuvable.")

    @app.exception(PayloadTooLarge)
    async def too_large(request: Request, exc: Exception):
        if "header" in str(exc).lower():
            return error_page(request, 414, "Requête trop volumineuse : adresse ou en-têtes trop longs.")
        return error_page(request, 413, "Requête trop volumineuse.")

    @app.exception(StoreUnavailable)
    async def store_down(request: Request, exc: Exception):
        log.warning("console : base de données indisponible (%s)", request.path)
        return error_page(request, 503, "Base de données indisponible : réessayez dans un instant.")

    @app.exception(SanicException)
    async def bad_request(request: Request, exc: SanicException):
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return error_page(request, status, "Requête invalide.")

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception):
        # The class name only: a message or a traceback's locals could hold what she told us.
        log.error("console : erreur inattendue %s sur %s %s", type(exc).__name__, request.method,
                  request.route.path if request.route else "?")
        return error_page(request, 500, "Erreur interne : l'action n'a pas été faite. Réessayez ; "
                                        "si cela se reproduit, prévenez l'équipe technique.")

    # Two small files, read once: no directory to list, no path to traverse.
    assets = {name: ((HERE / "static" / name).read_bytes(), kind)
              for name, kind in (("console.css", "text/css; charset=utf-8"),
                                 ("console.js", "text/javascript; charset=utf-8"),
                                 ("live.js", "text/javascript; charset=utf-8"))}

    @app.get("/static/<name>")
    async def static(request: Request, name: str):
        if name not in assets:
            raise ConsoleError("Fichier introuvable.", 404)
        body, kind = assets[name]
        return response.raw(body, content_type=kind, headers={"Cache-Control": "no-cache"})

    # -- login -------------------------------------------------------------------
    @app.get("/favicon.ico")
    async def favicon(request: Request):
        return response.empty()

    @app.get("/login")
    async def login_page(request: Request):
        if await in_thread(accounts.session, request.cookies.get(COOKIE), False) is not None:
            return response.redirect("/")
        # Reuse a pending token: a second tab (or the browser's favicon detour) must not void the first form.
        token = request.cookies.get(LOGIN_COOKIE) or ""
        if not accounts.login_token_ok(token, token):
            token = accounts.login_token()
        resp = render("login.html", csrf=token, error=None, session=None)
        set_cookie(resp, LOGIN_COOKIE, token, 600)
        return resp

    @app.post("/login")
    async def login(request: Request):
        # One normalised login for the throttle, the check and the audit: padding cannot dodge the count.
        login_name = normalize_login(form(request).get("login", ""))
        password = form(request).get("password", "")
        address = request.remote_addr or request.ip or "?"
        token = form_value(request, "csrf")
        if not accounts.login_token_ok(request.cookies.get(LOGIN_COOKIE), token):
            raise ConsoleError("Jeton de sécurité invalide : rechargez la page de connexion.", 403)
        if not login_name or not password:
            return render("login.html", status=400, csrf=token, session=None,
                          error="Indiquez votre identifiant et votre mot de passe.")
        wait = throttle.retry_after(login_name, address)
        if wait:
            await in_thread(accounts.audit, "?", "connexion_refusee", None, f"trop d'essais depuis {address}"[:64])
            resp = render("login.html", status=429, csrf=token, session=None,
                          error=f"Trop d'essais manqués depuis ce poste. Réessayez dans {_wait_text(wait)}.")
            resp.headers["Retry-After"] = str(wait)
            return resp
        delay = throttle.account_delay(login_name)
        if delay:
            await asyncio.sleep(delay)  # slowed, never refused: the owner still gets in from elsewhere
        operator, known = await in_thread(accounts.attempt, login_name, password)
        if operator is None:
            throttle.failed(login_name, address)
            # Known or not, one audit row: the same cost, and never the typed login if unknown
            # (it may be a password typed in the wrong field).
            await in_thread(accounts.audit, known or "?", "connexion_refusee", None,
                            f"{'mot de passe' if known else 'identifiant inconnu'} depuis {address}"[:64])
            return render("login.html", status=401, csrf=token, session=None,
                          error="Identifiant ou mot de passe incorrect.")
        throttle.succeeded(login_name, address)
        token, _ = await in_thread(accounts.open_session, operator)
        await in_thread(accounts.audit, operator.login, "connexion")
        resp = response.redirect("/")
        set_cookie(resp, COOKIE, token)
        drop_cookie(resp, LOGIN_COOKIE)
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        session = session_of(request)
        check_csrf(request, session)
        await in_thread(accounts.close_session, request.cookies.get(COOKIE))
        await in_thread(accounts.audit, session.operator.login, "deconnexion")
        resp = response.redirect("/login")
        drop_cookie(resp, COOKIE)
        return resp

    # -- the queue -----------------------------------------------------------------
    def queue_filters(request: Request, session: Session) -> tuple[str, str]:
        status = request.args.get("statut", "")
        territory = request.args.get("territoire", "").strip().upper()
        if status and status not in STATUSES and status != "tous":
            raise ConsoleError("Statut inconnu : choisissez-en un dans la liste.", 400)
        if territory:
            if not TERRITORY.match(territory):
                raise ConsoleError("Territoire invalide : un code de département est attendu (ex. 95, 2A, 974).", 400)
            if not session.operator.may_see(territory):
                raise ConsoleError("Ce territoire n'est pas le vôtre.", 403)
        return status, territory

    def queue_rows(session: Session, status: str, territory: str) -> list[dict[str, Any]]:
        if status == "tous":
            statuses = list(STATUSES)
        else:
            statuses = [status] if status in STATUSES else list(OPEN_STATUSES)
        scope = [territory] if territory else session.operator.scope
        cases = store.list_queue(scope, statuses, limit=500)
        taken = accounts.assignees(c.reference for c in cases)
        now = utcnow()
        rows = []
        for case in cases:
            due = case.created_at + dt.timedelta(hours=targets.get(case.priority, 120))
            left = due - now
            waiting = case.status in (NEW, TAKEN)  # no first contact yet: the target still runs
            rows.append({"case": case, "age": _duration(now - case.created_at), "assignee": taken.get(case.reference),
                         "waiting": waiting, "due": due, "left": _duration(abs(left)),
                         "late": waiting and left.total_seconds() < 0,
                         "soon": waiting and 0 <= left.total_seconds() < 0.25 * targets.get(case.priority, 120) * 3600})
        return live_console.queue_first(rows, app.ctx.live)  # live conversations waiting for a référent first

    fragment_audited: dict[str, float] = {}

    def audit_view(session: Session, what: str, request: Request, coalesce: bool = False) -> None:
        """Every page that shows case data leaves a line in the journal (the queue's own refresh at
        most every few minutes per session, so that the journal stays readable)."""
        if coalesce:
            key = f"{session.operator.login}:{request.cookies.get(COOKIE)}"
            now = time.monotonic()
            if now - fragment_audited.get(key, -FRAGMENT_AUDIT_SECONDS) < FRAGMENT_AUDIT_SECONDS:
                return
            if len(fragment_audited) > 10_000:
                fragment_audited.clear()
            fragment_audited[key] = now
        detail = " ".join(f"{k}={v}" for k, v in sorted(request.args.items()) if k in ("statut", "territoire"))
        accounts.audit(session.operator.login, what, None, detail[:64] or None)

    @app.get("/")
    async def queue(request: Request):
        session = session_of(request)
        status, territory = queue_filters(request, session)
        await in_thread(audit_view, session, "vue_file", request)
        rows = await in_thread(queue_rows, session, status, territory)
        return render("queue.html", session=session, rows=rows, current_status=status, territory=territory,
                      statuses=STATUSES, territories=session.operator.territories)

    @app.get("/file")
    async def queue_fragment(request: Request):
        session = session_of(request)
        status, territory = queue_filters(request, session)
        await in_thread(audit_view, session, "vue_file", request, True)
        rows = await in_thread(queue_rows, session, status, territory)
        return render("queue_rows.html", rows=rows)

    @app.get("/evenements")
    async def events(request: Request):
        """Server-Sent Events: new cases and status changes in her territories, no personal data.
        Resumes after `Last-Event-ID` when the browser reconnects; ends when the session does."""
        session = session_of(request)
        token = request.cookies.get(COOKIE)
        latest = await in_thread(store.last_event_id)
        cursor = latest
        resume = request.headers.get("last-event-id", "")
        if resume.isdigit() and 0 < int(resume) <= latest:
            cursor = int(resume)
        resp = await request.respond(content_type="text/event-stream; charset=utf-8",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await resp.send(f"retry: 3000\nid: {cursor}\n: ouvert\n\n")
        idle = 0.0
        while True:
            try:
                found = await in_thread(store.events_since, cursor)
            except StoreUnavailable:
                found = []  # the database is back in a moment; the stream stays open
            for event in found:
                cursor = event.id
                if session.operator.may_see(event.territory):
                    data = {"reference": event.reference, "type": event.kind, "statut": event.status,
                            "priorite": event.priority, "territoire": event.territory}
                    await resp.send(f"id: {event.id}\nevent: dossier\ndata: {json.dumps(data)}\n\n")
            idle += poll_seconds
            if idle >= ping_seconds:
                await resp.send(": ping\n\n")  # keeps proxies from closing a quiet stream
                idle = 0
            await asyncio.sleep(poll_seconds)
            # Still logged in? Checked at every beat (not counted as activity): logout, expiry or a
            # disabled account end the stream before anything else is sent.
            try:
                fresh = await in_thread(accounts.session, token, False)
            except StoreUnavailable:
                fresh = session
            if fresh is None:
                await resp.send("event: fin\ndata: {}\n\n")
                await resp.eof()
                return
            session = fresh  # her territories may have changed meanwhile

    # -- a case ----------------------------------------------------------------------
    def case_view(session: Session, reference: str) -> dict[str, Any]:
        case = visible_case(session, reference)
        notes = store.notes(case.reference)
        accounts.audit(session.operator.login, "vue", case.reference)
        assignee = accounts.assignees([case.reference]).get(case.reference)
        # Forward moves first (the default choice), handing back to the queue last; withdrawal is hers only.
        next_statuses = [s for s in (TAKEN, IN_PROGRESS, CLOSED, NEW) if s in TRANSITIONS[case.status]]
        explained = _explained(case.eligibility, eligibility_engine)
        return dict(**live_console.case_values(app.ctx.live, case, session.operator.login),
                    case=case, notes=notes, assignee=assignee, explained=explained, next_statuses=next_statuses,
                    history=accounts.audit_entries(100, case.reference), max_note=MAX_NOTE,
                    max_outcome=MAX_OUTCOME, outcome_suggestions=OUTCOME_SUGGESTIONS,
                    due=case.created_at + dt.timedelta(hours=targets.get(case.priority, 120)))

    @app.get("/dossiers/<reference>")
    async def case_page(request: Request, reference: str):
        session = session_of(request)
        values = await in_thread(case_view, session, reference)
        return render("case.html", session=session, **values)

    def take_case(session: Session, reference: str, confirmed_from: str) -> str | tuple[str, str]:
        """The reference once taken; (reference, holder) when someone else holds it and the
        operator has not confirmed taking it from that very person."""
        case = visible_case(session, reference)
        if not case.is_open:
            raise ConsoleError("Ce dossier est clos ou retiré : il ne peut plus être pris.", 409)
        login = session.operator.login
        previous = accounts.assignees([case.reference]).get(case.reference)
        if previous == login and case.status != NEW:
            return case.reference  # already hers: nothing to do
        if previous and previous != login and confirmed_from != previous:
            accounts.audit(login, "reprise_demandee", case.reference, f"tenu par {previous}")
            return case.reference, previous
        accounts.assign(case.reference, login)
        if case.status == NEW:
            try:
                store.update_status(case.reference, TAKEN)
            except InvalidTransition:
                raise ConsoleError("Le dossier a changé entre-temps : rechargez la page.", 409) from None
        accounts.audit(login, "prise", case.reference, f"repris de {previous}" if previous and previous != login else None)
        return case.reference

    @app.post("/dossiers/<reference>/prendre")
    async def take(request: Request, reference: str):
        session = session_of(request)
        check_csrf(request, session)
        done = await in_thread(take_case, session, reference, form_value(request, "confirmer"))
        if isinstance(done, tuple):  # held by someone else: never taken silently
            ref, holder = done
            return render("take_confirm.html", status=409, session=session, reference=ref, holder=holder)
        return response.redirect(f"/dossiers/{done}")

    def change_case_status(session: Session, reference: str, status: str, outcome: str) -> str:
        case = visible_case(session, reference)
        if case.status == status:
            raise ConsoleError(f"Le dossier est déjà « {STATUS_LABELS[status]} ».", 409)
        try:
            store.update_status(case.reference, status, outcome=outcome or None)
        except InvalidTransition:
            raise ConsoleError(f"Passage de « {STATUS_LABELS[case.status]} » à « {STATUS_LABELS[status]} » "
                               "non permis.", 409) from None
        except CaseNotFound:
            raise ConsoleError("Dossier introuvable : vérifiez la référence.", 404) from None
        login = session.operator.login
        if status == NEW:
            accounts.unassign(case.reference)  # handed back to the queue: anyone may take it
        elif not accounts.assignees([case.reference]).get(case.reference):
            accounts.assign(case.reference, login)  # whoever moves it along holds it
        accounts.audit(login, "statut", case.reference, status)
        return case.reference

    @app.post("/dossiers/<reference>/statut")
    async def change_status(request: Request, reference: str):
        session = session_of(request)
        check_csrf(request, session)
        status, outcome = form_value(request, "statut"), form_value(request, "issue")
        if status not in STATUSES or status == WITHDRAWN:
            raise ConsoleError("Statut inconnu : choisissez-en un dans la liste.", 400)
        if status == CLOSED and not outcome:
            raise ConsoleError("Pour clore un dossier, indiquez son issue.", 400)
        if len(outcome) > MAX_OUTCOME:
            raise ConsoleError(f"Issue trop longue : {MAX_OUTCOME} caractères au plus.", 413)
        ref = await in_thread(change_case_status, session, reference, status, outcome)
        return response.redirect(f"/dossiers/{ref}")

    def write_note(session: Session, reference: str, text: str) -> str:
        case = visible_case(session, reference)
        try:
            store.add_note(case.reference, session.operator.login, text)
        except InvalidTransition:
            raise ConsoleError("Ce dossier a été retiré : plus de notes possibles.", 409) from None
        accounts.audit(session.operator.login, "note", case.reference)
        return case.reference

    @app.post("/dossiers/<reference>/notes")
    async def add_note(request: Request, reference: str):
        session = session_of(request)
        check_csrf(request, session)
        text = form_value(request, "note").replace("\r\n", "\n")
        if not text:
            raise ConsoleError("La note est vide.", 400)
        if len(text) > MAX_NOTE:
            raise ConsoleError(f"Note trop longue : {MAX_NOTE} caractères au plus.", 413)
        ref = await in_thread(write_note, session, reference, text)
        return response.redirect(f"/dossiers/{ref}#notes")

    # -- statistics --------------------------------------------------------------------
    @app.get("/statistiques")
    async def statistics(request: Request):
        session = session_of(request)
        await in_thread(audit_view, session, "vue_statistiques", request)
        figures = await in_thread(stats.compute, store, session.operator.scope, targets=targets, tz=tz)
        charts = {"jour": stats.column_chart(figures.per_day, title="Dossiers par jour"),
                  "mesure": stats.bar_chart(figures.per_measure, labels=measure_labels, title="Par aide demandée"),
                  "territoire": stats.bar_chart(figures.per_territory, title="Par territoire"),
                  "delai": stats.bar_chart(figures.delay_buckets, title="Délai jusqu'au premier contact"),
                  "statut": stats.bar_chart(figures.per_status, labels=STATUS_LABELS, title="Par statut")}
        return render("stats.html", session=session, figures=figures, charts=charts)

    # -- supervisors -------------------------------------------------------------------
    def supervisor(request: Request) -> Session:
        session = session_of(request)
        if not session.operator.supervisor:
            raise ConsoleError("Réservé aux superviseurs.", 403)
        return session

    def territories_field(request: Request) -> list[str]:
        return form_value(request, "territoires").replace(",", " ").split()

    async def operators_view(session: Session, status: int = 200, error: str | None = None,
                             done: str | None = None) -> response.HTTPResponse:
        return render("operators.html", status=status, session=session, operators=await in_thread(accounts.all),
                      error=error, done=done)

    @app.get("/operateurs")
    async def operators_page(request: Request):
        session = supervisor(request)
        done = {"cree": "Compte créé.", "modifie": "Compte modifié.", "mdp": "Mot de passe changé."}.get(
            request.args.get("fait", ""))
        return await operators_view(session, done=done)

    @app.post("/operateurs")
    async def operators_add(request: Request):
        session = supervisor(request)
        check_csrf(request, session)
        try:
            created = await in_thread(accounts.add, form_value(request, "login"), form(request).get("password", ""),
                                      form_value(request, "superviseur") == "oui", territories_field(request))
        except AccountError as exc:
            return await operators_view(session, 400, f"Compte non créé : {exc}.")
        await in_thread(accounts.audit, session.operator.login, "compte_cree", None, created.login)
        return response.redirect("/operateurs?fait=cree")

    def known_operator(login: str):
        operator = accounts.get(login)
        if operator is None:
            raise ConsoleError("Compte inconnu.", 404)
        return operator

    @app.post("/operateurs/<login>")
    async def operators_update(request: Request, login: str):
        session = supervisor(request)
        check_csrf(request, session)
        operator = await in_thread(known_operator, login)
        supervisor_flag = form_value(request, "superviseur") == "oui"
        active = form_value(request, "actif") == "oui"
        try:
            await in_thread(accounts.update, operator.login, supervisor=supervisor_flag,
                            territories=territories_field(request), active=active)
        except AccountError as exc:
            return await operators_view(session, 400, f"Compte {operator.login} non modifié : {exc}.")
        detail = f"{operator.login} {'superviseur' if supervisor_flag else 'opérateur'}{'' if active else ' désactivé'}"
        await in_thread(accounts.audit, session.operator.login, "compte_modifie", None, detail)
        return response.redirect("/operateurs?fait=modifie")

    @app.post("/operateurs/<login>/mot-de-passe")
    async def operators_password(request: Request, login: str):
        session = supervisor(request)
        check_csrf(request, session)
        operator = await in_thread(known_operator, login)
        try:
            await in_thread(accounts.set_password, operator.login, form(request).get("password", ""))
        except AccountError as exc:
            return await operators_view(session, 400, f"Mot de passe de {operator.login} non changé : {exc}.")
        await in_thread(accounts.audit, session.operator.login, "mot_de_passe", None, operator.login)
        if operator.login == session.operator.login:  # her own sessions just ended
            return response.redirect("/login")
        return response.redirect("/operateurs?fait=mdp")

    @app.get("/journal")
    async def audit_page(request: Request):
        session = supervisor(request)
        who = request.args.get("qui", "").strip().lower()[:64]
        reference = request.args.get("dossier", "").strip()
        before = request.args.get("avant", "")
        ref = normalize_reference(reference) if reference else None
        if reference and ref is None:
            raise ConsoleError("Référence invalide : 8 caractères, par exemple ABCD2345.", 400)
        if before and not (before.isdigit() and len(before) <= 18):
            raise ConsoleError("Page invalide.", 400)
        page_size = 200
        entries = await in_thread(accounts.audit_entries, page_size + 1, ref, who or None,
                                  int(before) if before else None)
        more = entries[page_size].id if len(entries) > page_size else None
        next_query = None
        if more is not None:
            next_query = "&".join(f"{k}={quote(v)}" for k, v in
                                  (("qui", who), ("dossier", ref or ""), ("avant", str(entries[page_size - 1].id))) if v)
        return render("audit.html", session=session, entries=entries[:page_size], who=who, reference=ref or "",
                      next_query=next_query)

    live_console.register(app, SimpleNamespace(
        session_of=session_of, check_csrf=check_csrf, visible_case=visible_case, form_value=form_value, form=form,
        in_thread=in_thread, accounts=accounts, store=store, Error=ConsoleError, tz=tz))
    return app


def _explained(eligibility: dict[str, Any], engine_of: Callable | None) -> list[str] | None:
    """The summary with its reasons, re-derived from her answers when the rules have not changed since."""
    outcomes = (eligibility or {}).get("outcomes") or {}
    if not outcomes or engine_of is None:
        return None
    engine = engine_of()
    if eligibility.get("rules_version") != engine.rules.version:
        return None  # other rules now: show the stored outcomes only
    try:
        return engine.explained(tuple(outcomes), eligibility.get("answers") or {})
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _wait_text(seconds: int) -> str:
    return f"{seconds} seconde(s)" if seconds < 90 else f"{round(seconds / 60)} minute(s)"


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d}"
    return f"{hours // 24} j {hours % 24} h"
