"""What every console page shares: labels, the French error, and the helpers each group of routes
is given (rendering, cookies, the session, strict forms, the case she may see, database work off
the event loop), plus the plumbing (security headers, error pages, the two static files)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, TypeVar
from urllib.parse import parse_qs

from jinja2 import Environment
from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound, PayloadTooLarge, SanicException
from sanic.request import Request

from bot.cases.model import CLOSED, IN_PROGRESS, NEW, TAKEN, WITHDRAWN, Case, normalize_reference
from bot.cases.store import CaseStore, StoreUnavailable
from bot.console import live as live_console
from bot.console.accounts import Accounts, Session, Throttle

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
STATUS_LABELS = {NEW: "nouveau", TAKEN: "pris en charge", IN_PROGRESS: "en cours", CLOSED: "clos", WITHDRAWN: "retiré"}
PRIORITY_LABELS = {"urgent": "urgent", "high": "élevée", "normal": "normale"}
SIGNAL_LABELS = {
    "danger": "danger immédiat (17 / 112)",
    "agresseur_present": "agresseur présent (SMS 114)",
    "enfant": "enfant en danger (119)",
    "suicide": "idées suicidaires (3114)",
}
CHANNEL_LABELS = {"appel": "Appel téléphonique", "sms": "SMS", "email": "E-mail", "ici": "Dans la conversation"}
AUDIT_LABELS = {
    "vue": "consultation",
    "prise": "prise en charge",
    "statut": "changement de statut",
    "note": "note ajoutée",
    "connexion": "connexion",
    "deconnexion": "déconnexion",
    "connexion_refusee": "connexion refusée",
    "refus": "accès refusé",
    "compte_cree": "compte créé",
    "compte_modifie": "compte modifié",
    "mot_de_passe": "mot de passe changé",
    "vue_file": "consultation de la file",
    "vue_statistiques": "consultation des statistiques",
    "reprise_demandee": "reprise demandée (confirmation)",
    "plan": "plan de contact modifié par elle",
    "en_retard": "signalé en retard",
    "flux": "file en direct ouverte",
}
AUDIT_LABELS.update(live_console.AUDIT_LABELS)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; media-src 'self' data:"
)
T = TypeVar("T")


class ConsoleError(SanicException):
    """A French message with a 4xx status."""

    def __init__(self, message: str, status: int = 400, headers: Mapping[str, str] | None = None):
        super().__init__(message, status_code=status)
        self.message = message
        self.extra_headers = dict(headers or {})


def json_response(body: Any, status: int = 200) -> response.HTTPResponse:
    return response.json(body, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False))


@dataclass
class Console:
    """The console's parts and the helpers every group of routes uses (the live takeover's too)."""

    app: Sanic
    store: CaseStore
    accounts: Accounts
    throttle: Throttle
    env: Environment
    targets: dict[str, int]
    tz: dt.tzinfo
    secure_cookies: bool
    poll_seconds: float
    ping_seconds: float
    measure_labels: dict[str, str]
    eligibility_engine: Callable[[], Any] | None
    Error: type[ConsoleError] = ConsoleError
    fragment_audited: dict[str, float] = field(default_factory=dict)

    def render(self, template: str, status: int = 200, **values: Any) -> response.HTTPResponse:
        # `status` is the HTTP status: template values must not use that name.
        return response.html(self.env.get_template(template).render(**values), status=status)

    def set_cookie(self, resp: response.HTTPResponse, key: str, value: str, max_age: int | None = None) -> None:
        resp.cookies[key] = value
        cookie = resp.cookies[key]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        if self.secure_cookies:
            cookie["secure"] = True
        if max_age is not None:
            cookie["max-age"] = max_age

    def drop_cookie(self, resp: response.HTTPResponse, key: str) -> None:
        self.set_cookie(resp, key, "", 0)

    def session_of(self, request: Request) -> Session:
        session: Session | None = request.ctx.session
        if session is None:
            raise ConsoleError("Session expirée ou absente : connectez-vous.", 401)
        return session

    def form(self, request: Request) -> dict[str, str]:
        """The posted form, parsed strictly: URL-encoded UTF-8 only, a few fields, no NUL."""
        if getattr(request.ctx, "form", None) is not None:
            parsed_before: dict[str, str] = request.ctx.form
            return parsed_before
        kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if request.body and kind != "application/x-www-form-urlencoded":
            raise ConsoleError("Formulaire illisible : envoyez-le depuis la console.", 400)
        try:
            parsed = parse_qs(
                (request.body or b"").decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                encoding="utf-8",
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            raise ConsoleError("Formulaire illisible : caractères ou champs invalides.", 400) from None
        values = {k: (v[0] if v else "") for k, v in parsed.items()}
        if any("\x00" in k or "\x00" in v for k, v in values.items()):
            raise ConsoleError("Formulaire illisible : caractères invalides.", 400)
        request.ctx.form = values
        return values

    def form_value(self, request: Request, key: str) -> str:
        return self.form(request).get(key, "").strip()

    def check_csrf(self, request: Request, session: Session) -> None:
        if not self.accounts.csrf_ok(session, self.form_value(request, "csrf")):
            raise ConsoleError("Jeton de sécurité invalide : rechargez la page et recommencez.", 403)

    def visible_case(self, session: Session, reference: str) -> Case:
        """Blocking (database): call it through `in_thread`."""
        ref = normalize_reference(reference)
        case = self.store.get(ref) if ref else None
        if case is None:
            raise ConsoleError("Dossier introuvable : vérifiez la référence.", 404)
        if not session.operator.may_see(case.territory):
            self.accounts.audit(session.operator.login, "refus", case.reference)
            raise ConsoleError("Ce dossier n'appartient pas à vos territoires.", 403)
        return case

    def in_thread(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
        # Database work off the event loop: a slow database must not freeze the live feeds.
        return asyncio.to_thread(func, *args, **kwargs)

    def audit_view(self, session: Session, what: str, request: Request, coalesce: bool = False) -> None:
        """Every page that shows case data leaves a line in the journal (the queue's own refresh at
        most every few minutes per session, so that the journal stays readable). Blocking."""
        if coalesce:
            key = f"{session.operator.login}:{request.cookies.get(COOKIE)}"
            now = time.monotonic()
            if now - self.fragment_audited.get(key, -FRAGMENT_AUDIT_SECONDS) < FRAGMENT_AUDIT_SECONDS:
                return
            if len(self.fragment_audited) > 10_000:
                self.fragment_audited.clear()
            self.fragment_audited[key] = now
        detail = " ".join(f"{k}={v}" for k, v in sorted(request.args.items()) if k in ("statut", "territoire"))
        self.accounts.audit(session.operator.login, what, None, detail[:64] or None)

    def error_page(self, request: Request, status: int, message: str) -> response.HTTPResponse:
        if request.path in PASSIVE_PATHS or request.headers.get("accept", "").startswith("application/json"):
            return json_response({"erreur": message}, status=status)
        return self.render(
            "error.html",
            status=status,
            message=message,
            session=getattr(request.ctx, "session", None),
            login_link=status == 401,
        )


def register(app: Sanic, c: Console) -> None:
    """Security headers on every answer, a French page for every error, the two static files."""

    @app.middleware("response")
    async def security_headers(request: Request, resp: response.HTTPResponse) -> None:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if c.secure_cookies:
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"

    @app.exception(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError) -> response.HTTPResponse:
        resp = c.error_page(request, exc.status_code, exc.message)
        resp.headers.update(exc.extra_headers)
        return resp

    @app.exception(NotFound, MethodNotSupported)
    async def not_found(request: Request, exc: Exception) -> response.HTTPResponse:
        if isinstance(exc, MethodNotSupported):
            return c.error_page(request, 405, "Méthode non permise.")
        return c.error_page(request, 404, "Page introuvable.")

    @app.exception(PayloadTooLarge)
    async def too_large(request: Request, exc: Exception) -> response.HTTPResponse:
        if "header" in str(exc).lower():
            return c.error_page(request, 414, "Requête trop volumineuse : adresse ou en-têtes trop longs.")
        return c.error_page(request, 413, "Requête trop volumineuse.")

    @app.exception(StoreUnavailable)
    async def store_down(request: Request, exc: Exception) -> response.HTTPResponse:
        log.warning("console : base de données indisponible (%s)", request.path)
        return c.error_page(request, 503, "Base de données indisponible : réessayez dans un instant.")

    @app.exception(SanicException)
    async def bad_request(request: Request, exc: SanicException) -> response.HTTPResponse:
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return c.error_page(request, status, "Requête invalide.")

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception) -> response.HTTPResponse:
        # The class name only: a message or a traceback's locals could hold what she told us.
        log.error(
            "console : erreur inattendue %s sur %s %s",
            type(exc).__name__,
            request.method,
            request.route.path if request.route else "?",
        )
        return c.error_page(
            request,
            500,
            "Erreur interne : l'action n'a pas été faite. Réessayez ; "
            "si cela se reproduit, prévenez l'équipe technique.",
        )

    # Two small files, read once: no directory to list, no path to traverse.
    assets = {
        name: ((HERE / "static" / name).read_bytes(), kind)
        for name, kind in (
            ("console.css", "text/css; charset=utf-8"),
            ("console.js", "text/javascript; charset=utf-8"),
            ("live.js", "text/javascript; charset=utf-8"),
        )
    }

    @app.get("/static/<name>")
    async def static(request: Request, name: str) -> response.HTTPResponse:
        if name not in assets:
            raise ConsoleError("Fichier introuvable.", 404)
        body, kind = assets[name]
        return response.raw(body, content_type=kind, headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico")
    async def favicon(request: Request) -> response.HTTPResponse:
        return response.empty()


def duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d}"
    return f"{hours // 24} j {hours % 24} h"
