"""Login, logout and the session every other page needs (read before each request)."""

from __future__ import annotations

import asyncio

from sanic import Sanic, response
from sanic.request import Request

from bot.console.accounts import normalize_login
from bot.console.web import COOKIE, LOGIN_COOKIE, MAX_URL, PASSIVE_PATHS, Console, ConsoleError, json_response


def register(app: Sanic, c: Console) -> None:
    accounts, throttle = c.accounts, c.throttle

    @app.middleware("request")
    async def load_session(request: Request) -> response.HTTPResponse | None:
        request.ctx.session = None
        request.ctx.form = None
        if request.method == "NONE":
            return None  # Sanic's stand-in for a request it could not read (e.g. headers over 8 kB): its error decides
        if len(request.path) + len(request.query_string or "") > MAX_URL:
            return c.error_page(request, 414, "Adresse trop longue.")
        if request.path.startswith("/static/") or request.path in ("/login", "/favicon.ico"):
            return None
        passive = request.path in PASSIVE_PATHS
        request.ctx.session = await c.in_thread(accounts.session, request.cookies.get(COOKIE), not passive)
        if request.ctx.session is None:
            if passive:
                return json_response({"erreur": "Session expirée ou absente : connectez-vous."}, status=401)
            if request.method in ("GET", "HEAD"):
                return response.redirect("/login")
            return c.render(
                "error.html",
                status=401,
                message="Session expirée ou absente : connectez-vous.",
                session=None,
                login_link=True,
            )
        return None

    @app.get("/login")
    async def login_page(request: Request) -> response.HTTPResponse:
        if await c.in_thread(accounts.session, request.cookies.get(COOKIE), False) is not None:
            return response.redirect("/")
        # Reuse a pending token: a second tab (or the browser's favicon detour) must not void the first form.
        token = request.cookies.get(LOGIN_COOKIE) or ""
        if not accounts.login_token_ok(token, token):
            token = accounts.login_token()
        resp = c.render("login.html", csrf=token, error=None, session=None)
        c.set_cookie(resp, LOGIN_COOKIE, token, 600)
        return resp

    @app.post("/login")
    async def login(request: Request) -> response.HTTPResponse:
        # One normalised login for the throttle, the check and the audit: padding cannot dodge the count.
        login_name = normalize_login(c.form(request).get("login", ""))
        password = c.form(request).get("password", "")
        address = request.remote_addr or request.ip or "?"
        token = c.form_value(request, "csrf")
        if not accounts.login_token_ok(request.cookies.get(LOGIN_COOKIE), token):
            raise ConsoleError("Jeton de sécurité invalide : rechargez la page de connexion.", 403)
        if not login_name or not password:
            return c.render(
                "login.html",
                status=400,
                csrf=token,
                session=None,
                error="Indiquez votre identifiant et votre mot de passe.",
            )
        wait = throttle.retry_after(login_name, address)
        if wait:
            await c.in_thread(accounts.audit, "?", "connexion_refusee", None, f"trop d'essais depuis {address}"[:64])
            resp = c.render(
                "login.html",
                status=429,
                csrf=token,
                session=None,
                error=f"Trop d'essais manqués depuis ce poste. Réessayez dans {_wait_text(wait)}.",
            )
            resp.headers["Retry-After"] = str(wait)
            return resp
        delay = throttle.account_delay(login_name)
        if delay:
            await asyncio.sleep(delay)  # slowed, never refused: the owner still gets in from elsewhere
        operator, known = await c.in_thread(accounts.attempt, login_name, password)
        if operator is None:
            throttle.failed(login_name, address)
            # Known or not, one audit row: the same cost, and never the typed login if unknown
            # (it may be a password typed in the wrong field).
            await c.in_thread(
                accounts.audit,
                known or "?",
                "connexion_refusee",
                None,
                f"{'mot de passe' if known else 'identifiant inconnu'} depuis {address}"[:64],
            )
            return c.render(
                "login.html", status=401, csrf=token, session=None, error="Identifiant ou mot de passe incorrect."
            )
        throttle.succeeded(login_name, address)
        token, _ = await c.in_thread(accounts.open_session, operator)
        await c.in_thread(accounts.audit, operator.login, "connexion")
        resp = response.redirect("/")
        c.set_cookie(resp, COOKIE, token)
        c.drop_cookie(resp, LOGIN_COOKIE)
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> response.HTTPResponse:
        session = c.session_of(request)
        c.check_csrf(request, session)
        await c.in_thread(accounts.close_session, request.cookies.get(COOKIE))
        await c.in_thread(accounts.audit, session.operator.login, "deconnexion")
        resp = response.redirect("/login")
        c.drop_cookie(resp, COOKIE)
        return resp


def _wait_text(seconds: int) -> str:
    return f"{seconds} seconde(s)" if seconds < 90 else f"{round(seconds / 60)} minute(s)"
