"""For supervisors: operator accounts (create, change, reset a password) and the audit journal."""

from __future__ import annotations

from urllib.parse import quote

from sanic import Sanic, response
from sanic.request import Request

from bot.cases.model import normalize_reference
from bot.console.accounts import AccountError, Operator, Session
from bot.console.web import Console, ConsoleError

DONE_MESSAGES = {"cree": "Compte créé.", "modifie": "Compte modifié.", "mdp": "Mot de passe changé."}
AUDIT_PAGE_SIZE = 200


def register(app: Sanic, c: Console) -> None:
    accounts = c.accounts

    def supervisor(request: Request) -> Session:
        session = c.session_of(request)
        if not session.operator.supervisor:
            raise ConsoleError("Réservé aux superviseurs.", 403)
        return session

    def territories_field(request: Request) -> list[str]:
        return c.form_value(request, "territoires").replace(",", " ").split()

    def known_operator(login: str) -> Operator:
        operator = accounts.get(login)
        if operator is None:
            raise ConsoleError("Compte inconnu.", 404)
        return operator

    async def operators_view(
        session: Session, status: int = 200, error: str | None = None, done: str | None = None
    ) -> response.HTTPResponse:
        return c.render(
            "operators.html",
            status=status,
            session=session,
            operators=await c.in_thread(accounts.all),
            error=error,
            done=done,
        )

    @app.get("/operateurs")
    async def operators_page(request: Request) -> response.HTTPResponse:
        session = supervisor(request)
        return await operators_view(session, done=DONE_MESSAGES.get(request.args.get("fait", "")))

    @app.post("/operateurs")
    async def operators_add(request: Request) -> response.HTTPResponse:
        session = supervisor(request)
        c.check_csrf(request, session)
        try:
            created = await c.in_thread(
                accounts.add,
                c.form_value(request, "login"),
                c.form(request).get("password", ""),
                c.form_value(request, "superviseur") == "oui",
                territories_field(request),
            )
        except AccountError as exc:
            return await operators_view(session, 400, f"Compte non créé : {exc}.")
        await c.in_thread(accounts.audit, session.operator.login, "compte_cree", None, created.login)
        return response.redirect("/operateurs?fait=cree")

    @app.post("/operateurs/<login>")
    async def operators_update(request: Request, login: str) -> response.HTTPResponse:
        session = supervisor(request)
        c.check_csrf(request, session)
        operator = await c.in_thread(known_operator, login)
        supervisor_flag = c.form_value(request, "superviseur") == "oui"
        active = c.form_value(request, "actif") == "oui"
        try:
            await c.in_thread(
                accounts.update,
                operator.login,
                supervisor=supervisor_flag,
                territories=territories_field(request),
                active=active,
            )
        except AccountError as exc:
            return await operators_view(session, 400, f"Compte {operator.login} non modifié : {exc}.")
        detail = f"{operator.login} {'superviseur' if supervisor_flag else 'opérateur'}{'' if active else ' désactivé'}"
        await c.in_thread(accounts.audit, session.operator.login, "compte_modifie", None, detail)
        return response.redirect("/operateurs?fait=modifie")

    @app.post("/operateurs/<login>/mot-de-passe")
    async def operators_password(request: Request, login: str) -> response.HTTPResponse:
        session = supervisor(request)
        c.check_csrf(request, session)
        operator = await c.in_thread(known_operator, login)
        try:
            await c.in_thread(accounts.set_password, operator.login, c.form(request).get("password", ""))
        except AccountError as exc:
            return await operators_view(session, 400, f"Mot de passe de {operator.login} non changé : {exc}.")
        await c.in_thread(accounts.audit, session.operator.login, "mot_de_passe", None, operator.login)
        if operator.login == session.operator.login:  # her own sessions just ended
            return response.redirect("/login")
        return response.redirect("/operateurs?fait=mdp")

    @app.get("/journal")
    async def audit_page(request: Request) -> response.HTTPResponse:
        session = supervisor(request)
        who = request.args.get("qui", "").strip().lower()[:64]
        reference = request.args.get("dossier", "").strip()
        before = request.args.get("avant", "")
        ref = normalize_reference(reference) if reference else None
        if reference and ref is None:
            raise ConsoleError("Référence invalide : 8 caractères, par exemple ABCD2345.", 400)
        if before and not (before.isdigit() and len(before) <= 18):
            raise ConsoleError("Page invalide.", 400)
        page_size = AUDIT_PAGE_SIZE
        entries = await c.in_thread(
            accounts.audit_entries, page_size + 1, ref, who or None, int(before) if before else None
        )
        more = entries[page_size].id if len(entries) > page_size else None
        next_query = None
        if more is not None:
            next_query = "&".join(
                f"{k}={quote(v)}"
                for k, v in (("qui", who), ("dossier", ref or ""), ("avant", str(entries[page_size - 1].id)))
                if v
            )
        return c.render(
            "audit.html",
            session=session,
            entries=entries[:page_size],
            who=who,
            reference=ref or "",
            next_query=next_query,
        )
