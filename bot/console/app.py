"""The operator console: a Sanic web app on port 8080, apart from the public bot.

It reads cases through bot.cases only. Every page but login needs a session;
every form carries a CSRF token; every case view and change is audited.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound, SanicException
from sanic.request import Request

from bot.cases.model import (CLOSED, IN_PROGRESS, NEW, OPEN_STATUSES, STATUSES, TAKEN, TRANSITIONS,
                             WITHDRAWN, normalize_reference, utcnow)
from bot.cases.store import CaseNotFound, CaseStore, InvalidTransition, StoreUnavailable
from bot.config import settings
from bot.console.accounts import AccountError, Accounts, Session, Throttle
from bot.console import stats

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
COOKIE = "nd_console"
LOGIN_COOKIE = "nd_login"
MAX_NOTE = 2000
MAX_OUTCOME = 200
STATUS_LABELS = {NEW: "nouveau", TAKEN: "pris en charge", IN_PROGRESS: "en cours", CLOSED: "clos",
                 WITHDRAWN: "retiré"}
PRIORITY_LABELS = {"urgent": "urgent", "high": "élevée", "normal": "normale"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; media-src 'self' data:")


class ConsoleError(SanicException):
    """A French message with a 4xx status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message, status_code=status)
        self.message = message


def response_targets(path: Path | None = None) -> dict[str, int]:
    """Hours per priority, from data/contact/contact.yml: the bot tells her the same delays."""
    path = path or settings().data_dir / "contact" / "contact.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {p: int(d["heures"]) for p, d in doc["delais"].items()}


def create_app(store: CaseStore | None = None, *, name: str = "nd_console", session_minutes: int = 30,
               secure_cookies: bool = False, poll_seconds: float = 1.0, throttle: Throttle | None = None) -> Sanic:
    store = store or CaseStore()
    accounts = Accounts(store, session_minutes)
    throttle = throttle or Throttle()
    targets = response_targets()
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.ctx.store, app.ctx.accounts = store, accounts

    def render(template: str, status: int = 200, **values: Any) -> response.HTTPResponse:
        # `status` is the HTTP status: template values must not use that name.
        values.setdefault("status_labels", STATUS_LABELS)
        values.setdefault("priority_labels", PRIORITY_LABELS)
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

    def session_of(request: Request) -> Session:
        session = request.ctx.session
        if session is None:
            raise ConsoleError("Session expirée ou absente : connectez-vous.", 401)
        return session

    def form_value(request: Request, key: str) -> str:
        values = request.form.get(key) if request.form else None
        return (values or "").strip()

    def check_csrf(request: Request, session: Session) -> None:
        if not accounts.csrf_ok(session, form_value(request, "csrf")):
            raise ConsoleError("Jeton de sécurité invalide : rechargez la page et recommencez.", 403)

    def visible_case(session: Session, reference: str):
        ref = normalize_reference(reference)
        case = store.get(ref) if ref else None
        if case is None:
            raise ConsoleError("Dossier introuvable.", 404)
        if not session.operator.may_see(case.territory):
            raise ConsoleError("Ce dossier n'appartient pas à vos territoires.", 403)
        return case

    # -- plumbing ------------------------------------------------------------------
    @app.middleware("request")
    async def load_session(request: Request):
        request.ctx.session = None
        if request.path.startswith("/static/") or request.path in ("/login", "/favicon.ico"):
            return
        request.ctx.session = await asyncio.to_thread(accounts.session, request.cookies.get(COOKIE))
        if request.ctx.session is None:
            if request.method == "GET" and request.path != "/evenements":
                return response.redirect("/login")
            return response.json({"erreur": "Session expirée ou absente : connectez-vous."}, status=401)

    @app.middleware("response")
    async def security_headers(request: Request, resp: response.HTTPResponse):
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"

    @app.exception(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError):
        if request.headers.get("accept", "").startswith("application/json"):
            return response.json({"erreur": exc.message}, status=exc.status_code)
        return render("error.html", status=exc.status_code, message=exc.message,
                      session=getattr(request.ctx, "session", None))

    @app.exception(NotFound, MethodNotSupported)
    async def not_found(request: Request, exc: Exception):
        status = 405 if isinstance(exc, MethodNotSupported) else 404
        message = "Méthode non permise." if status == 405 else "Page introuvable."
        return render("error.html", status=status, message=message, session=getattr(request.ctx, "session", None))

    @app.exception(StoreUnavailable)
    async def store_down(request: Request, exc: Exception):
        return render("error.html", status=503, message="Base de données indisponible : réessayez dans un instant.",
                      session=None)

    @app.exception(SanicException)
    async def bad_request(request: Request, exc: SanicException):
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return render("error.html", status=status, message="Requête invalide.", session=None)

    app.static("/static", str(HERE / "static"))

    # -- login -------------------------------------------------------------------
    @app.get("/favicon.ico")
    async def favicon(request: Request):
        return response.empty()

    @app.get("/login")
    async def login_page(request: Request):
        # Reuse a pending token: a second tab (or the browser's favicon detour) must not void the first form.
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        resp = render("login.html", csrf=token, error=None)
        set_cookie(resp, LOGIN_COOKIE, token, 600)
        return resp

    @app.post("/login")
    async def login(request: Request):
        login_name = form_value(request, "login").lower()[:64]
        address = request.remote_addr or request.ip or "?"
        if not secrets.compare_digest(request.cookies.get(LOGIN_COOKIE, "") or "x", form_value(request, "csrf") or "y"):
            raise ConsoleError("Jeton de sécurité invalide : rechargez la page de connexion.", 403)
        if throttle.blocked(login_name, address):
            return render("login.html", status=429, csrf=form_value(request, "csrf"),
                          error="Trop d'essais. Réessayez dans 15 minutes.")
        operator = await asyncio.to_thread(accounts.authenticate, login_name, form_value(request, "password"))
        if operator is None:
            throttle.failed(login_name, address)
            return render("login.html", status=401, csrf=form_value(request, "csrf"),
                          error="Identifiant ou mot de passe incorrect.")
        throttle.succeeded(login_name)
        token, _ = await asyncio.to_thread(accounts.open_session, operator)
        accounts.audit(operator.login, "connexion")
        resp = response.redirect("/")
        set_cookie(resp, COOKIE, token)
        del resp.cookies[LOGIN_COOKIE]
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        session = session_of(request)
        check_csrf(request, session)
        accounts.close_session(request.cookies.get(COOKIE))
        accounts.audit(session.operator.login, "deconnexion")
        resp = response.redirect("/login")
        del resp.cookies[COOKIE]
        return resp

    # -- the queue -----------------------------------------------------------------
    def queue_rows(session: Session, status: str, territory: str) -> list[dict[str, Any]]:
        statuses = [status] if status in STATUSES else list(OPEN_STATUSES)
        scope = session.operator.scope
        if territory:
            if scope is not None and territory not in scope:
                raise ConsoleError("Ce territoire n'est pas le vôtre.", 403)
            scope = [territory]
        cases = store.list_queue(scope, statuses, limit=500)
        taken = accounts.assignees(c.reference for c in cases)
        now = utcnow()
        rows = []
        for case in cases:
            due = case.created_at + dt.timedelta(hours=targets.get(case.priority, 120))
            left = due - now
            rows.append({"case": case, "age": _duration(now - case.created_at), "assignee": taken.get(case.reference),
                         "left": _duration(abs(left)), "late": left.total_seconds() < 0 and case.is_open})
        return rows

    @app.get("/")
    async def queue(request: Request):
        session = session_of(request)
        status, territory = request.args.get("statut", ""), request.args.get("territoire", "").upper()
        if status and status not in STATUSES:
            raise ConsoleError("Statut inconnu.", 400)
        rows = await asyncio.to_thread(queue_rows, session, status, territory)
        return render("queue.html", session=session, rows=rows, current_status=status, territory=territory,
                      statuses=STATUSES, territories=session.operator.territories)

    @app.get("/file")
    async def queue_fragment(request: Request):
        session = session_of(request)
        status, territory = request.args.get("statut", ""), request.args.get("territoire", "").upper()
        rows = await asyncio.to_thread(queue_rows, session, status if status in STATUSES else "", territory)
        return render("queue_rows.html", rows=rows)

    @app.get("/evenements")
    async def events(request: Request):
        """Server-Sent Events: new cases and status changes in her territories, no personal data."""
        session = session_of(request)
        resp = await request.respond(content_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        latest = store.events_since(0, limit=100000)
        cursor = latest[-1].id if latest else 0
        await resp.send(": ouvert\n\n")
        idle = 0.0
        while True:
            found = await asyncio.to_thread(store.events_since, cursor)
            for event in found:
                cursor = event.id
                if session.operator.may_see(event.territory):
                    data = {"reference": event.reference, "type": event.kind, "statut": event.status,
                            "priorite": event.priority, "territoire": event.territory}
                    await resp.send(f"event: dossier\ndata: {json.dumps(data)}\n\n")
            idle += poll_seconds
            if idle >= 15:
                await resp.send(": ping\n\n")  # keeps proxies from closing an idle stream
                idle = 0
            await asyncio.sleep(poll_seconds)

    # -- a case ----------------------------------------------------------------------
    @app.get("/dossiers/<reference>")
    async def case_page(request: Request, reference: str):
        session = session_of(request)
        case = visible_case(session, reference)
        notes = store.notes(case.reference)
        accounts.audit(session.operator.login, "vue", case.reference)
        assignee = accounts.assignees([case.reference]).get(case.reference)
        next_statuses = [s for s in TRANSITIONS[case.status] if s != WITHDRAWN]
        return render("case.html", session=session, case=case, notes=notes, assignee=assignee,
                      explained=_explained(case.eligibility),
                      next_statuses=next_statuses, history=accounts.audit_entries(50, case.reference),
                      max_note=MAX_NOTE)

    @app.post("/dossiers/<reference>/prendre")
    async def take(request: Request, reference: str):
        session = session_of(request)
        check_csrf(request, session)
        case = visible_case(session, reference)
        if not case.is_open:
            raise ConsoleError("Ce dossier est clos ou retiré : il ne peut plus être pris.", 409)
        accounts.assign(case.reference, session.operator.login)
        if case.status == NEW:
            store.update_status(case.reference, TAKEN)
        accounts.audit(session.operator.login, "prise", case.reference)
        return response.redirect(f"/dossiers/{case.reference}")

    @app.post("/dossiers/<reference>/statut")
    async def change_status(request: Request, reference: str):
        session = session_of(request)
        check_csrf(request, session)
        case = visible_case(session, reference)
        status, outcome = form_value(request, "statut"), form_value(request, "issue")
        if status not in STATUSES or status == WITHDRAWN:
            raise ConsoleError("Statut inconnu.", 400)
        if status == CLOSED and not outcome:
            raise ConsoleError("Pour clore un dossier, indiquez son issue.", 400)
        if len(outcome) > MAX_OUTCOME:
            raise ConsoleError(f"Issue trop longue : {MAX_OUTCOME} caractères au plus.", 413)
        try:
            store.update_status(case.reference, status, outcome=outcome or None)
        except InvalidTransition:
            raise ConsoleError(f"Passage de « {STATUS_LABELS[case.status]} » à « {STATUS_LABELS[status]} » "
                               "non permis.", 409)
        except CaseNotFound:
            raise ConsoleError("Dossier introuvable.", 404)
        accounts.audit(session.operator.login, "statut", case.reference, status)
        return response.redirect(f"/dossiers/{case.reference}")

    @app.post("/dossiers/<reference>/notes")
    async def add_note(request: Request, reference: str):
        session = session_of(request)
        check_csrf(request, session)
        case = visible_case(session, reference)
        text = form_value(request, "note")
        if not text:
            raise ConsoleError("La note est vide.", 400)
        if len(text) > MAX_NOTE:
            raise ConsoleError(f"Note trop longue : {MAX_NOTE} caractères au plus.", 413)
        store.add_note(case.reference, session.operator.login, text)
        accounts.audit(session.operator.login, "note", case.reference)
        return response.redirect(f"/dossiers/{case.reference}#notes")

    # -- statistics --------------------------------------------------------------------
    @app.get("/statistiques")
    async def statistics(request: Request):
        session = session_of(request)
        figures = await asyncio.to_thread(stats.compute, store, session.operator.scope)
        return render("stats.html", session=session, figures=figures, charts={
            "jour": stats.bar_chart(figures.per_day), "mesure": stats.bar_chart(figures.per_measure),
            "territoire": stats.bar_chart(figures.per_territory)})

    # -- supervisors -------------------------------------------------------------------
    def supervisor(request: Request) -> Session:
        session = session_of(request)
        if not session.operator.supervisor:
            raise ConsoleError("Réservé aux superviseurs.", 403)
        return session

    @app.get("/operateurs")
    async def operators_page(request: Request):
        session = supervisor(request)
        return render("operators.html", session=session, operators=accounts.all(), error=None)

    @app.post("/operateurs")
    async def operators_add(request: Request):
        session = supervisor(request)
        check_csrf(request, session)
        try:
            created = accounts.add(form_value(request, "login"), form_value(request, "password"),
                                   form_value(request, "superviseur") == "oui",
                                   form_value(request, "territoires").replace(",", " ").split())
        except AccountError as exc:
            return render("operators.html", status=400, session=session, operators=accounts.all(), error=str(exc))
        accounts.audit(session.operator.login, "compte_cree", detail=created.login)
        return response.redirect("/operateurs")

    @app.get("/journal")
    async def audit_page(request: Request):
        session = supervisor(request)
        return render("audit.html", session=session, entries=accounts.audit_entries(500))

    return app


def _explained(eligibility: dict[str, Any]) -> list[str] | None:
    """The summary with its reasons, re-derived from her answers when the rules have not changed since."""
    from bot.eligibility.service import default_eligibility

    outcomes = (eligibility or {}).get("outcomes") or {}
    if not outcomes:
        return None
    engine = default_eligibility()
    if eligibility.get("rules_version") != engine.rules.version:
        return None  # other rules now: show the stored outcomes only
    try:
        return engine.explained(tuple(outcomes), eligibility.get("answers") or {})
    except (KeyError, TypeError, ValueError):
        return None


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d}"
    return f"{hours // 24} j"
