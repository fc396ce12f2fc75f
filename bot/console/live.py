"""The console's side of a live takeover: join, write, hand back; her words in a live log.

Routes under /dossiers/<reference>/direct/…; the exchange is sealed with the case
(bot/live/store.py). Rasa is reached only through bot/live/client.py (HTTP on loopback,
behind a token). Every join, message and hand-back is audited: who and when, never the text.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sanic import response
from sanic.request import Request

from bot import live as domain
from bot.cases.model import utcnow
from bot.live import client
from bot.live.store import LiveStore, NotJoinable

if TYPE_CHECKING:
    from bot.console.web import Console

AUDIT_LABELS = {
    "direct_rejoint": "conversation rejointe",
    "direct_message": "message envoyé en direct",
    "direct_rendu": "main rendue à l'assistant",
    "direct_refus": "conversation en direct refusée",
}
AUTHOR_LABELS = {domain.HER: "Elle", domain.ASSISTANT: "Assistant (urgence)", domain.INFO: "Info"}


def waiting_minutes(session: Any, now: dt.datetime | None = None) -> int:
    return max(0, int(((now or utcnow()) - session.requested_at).total_seconds() // 60))


def queue_first(rows: list[dict[str, Any]], live: LiveStore) -> list[dict[str, Any]]:
    """Rows with their live state; conversations waiting for a référent first, the longest waiting first."""
    sessions = live.waiting([r["case"].reference for r in rows])
    for row in rows:
        session = sessions.get(row["case"].reference)
        row["live"] = session
        row["live_wait"] = waiting_minutes(session) if session is not None else None
    waiting = [r for r in rows if r["live"] is not None and r["live"].state == domain.WAITING]
    waiting.sort(key=lambda r: r["live"].requested_at)
    return waiting + [r for r in rows if r not in waiting]


def case_values(live: LiveStore, case: Any, login: str) -> dict[str, Any]:
    session = live.get(case.reference)
    return dict(
        live=session,
        live_messages=live.messages(case.reference) if session else [],
        live_name=live.display_name(login),
        live_mine=bool(session and session.held and session.operator == login),
        live_wait=waiting_minutes(session) if session else None,
        live_labels=AUTHOR_LABELS,
    )


def register(app: Any, h: Console) -> None:
    """`h`: the console's helpers (session_of, check_csrf, visible_case, form_value, in_thread, accounts,
    store, error class), as every other group of the console's routes gets them."""
    live = LiveStore(h.store)
    app.ctx.live = live

    def wants_json(request: Request) -> bool:
        return (request.headers.get("accept") or "").startswith("application/json")

    def done(request: Request, reference: str, **body: Any) -> response.HTTPResponse:
        if wants_json(request):
            return response.json({"ok": True, **body})
        return response.redirect(f"/dossiers/{reference}#direct")

    def holder_check(session: Any, reference: str) -> Any:
        case = h.visible_case(session, reference)
        found = live.get(case.reference)
        if found is None or not found.held or found.operator != session.operator.login:
            holder = found.operator if found is not None and found.held else None
            h.accounts.audit(
                session.operator.login, "direct_refus", case.reference, f"tenue par {holder}" if holder else None
            )
            raise h.Error(
                f"Seul·e {holder} peut écrire dans cette conversation."
                if holder
                else "Vous n'avez pas rejoint cette conversation.",
                409,
            )
        return case, found

    def join(session: Any, reference: str, name: str) -> str:
        case = h.visible_case(session, reference)
        if not case.is_open:
            raise h.Error("Ce dossier est clos ou retiré.", 409)
        login = session.operator.login
        if name:
            live.set_display_name(login, name)
        try:
            found = live.join(case.reference, login)
        except NotJoinable as exc:
            if exc.holder:
                raise h.Error(f"{exc.holder} a déjà rejoint cette conversation.", 409) from None
            raise h.Error("Personne n'attend dans cette conversation.", 409) from None
        try:
            client.call("join", case.reference, name=live.display_name(login))
        except client.LiveUnavailable:
            live.end(case.reference, login)
            raise h.Error(
                "L'assistant ne répond pas : la conversation n'a pas pu être rejointe. Réessayez.", 503
            ) from None
        live.add_message(
            case.reference, domain.INFO, f"{live.display_name(login)} a rejoint la conversation.", login=login
        )
        h.accounts.audit(login, "direct_rejoint", case.reference)
        return found.reference

    def say(session: Any, reference: str, text: str) -> dict[str, Any]:
        case, _found = holder_check(session, reference)
        login = session.operator.login
        try:
            answer = client.call("say", case.reference, name=live.display_name(login), text=text)
        except client.LiveUnavailable:
            raise h.Error("L'assistant ne répond pas : le message n'est pas parti. Réessayez.", 503) from None
        message = live.add_message(case.reference, domain.REFERENT, text, login=login)
        h.accounts.audit(login, "direct_message", case.reference)
        return {"id": message.id, "present": bool(answer.get("present"))}

    def leave(session: Any, reference: str) -> str:
        case, _found = holder_check(session, reference)
        login = session.operator.login
        live.end(case.reference, login)
        try:
            client.call("leave", case.reference, name=live.display_name(login))
        except client.LiveUnavailable:
            pass  # ended in the store; the channels stop handing her words to the console at once
        live.add_message(case.reference, domain.INFO, "La main a été rendue à l'assistant.", login=login)
        h.accounts.audit(login, "direct_rendu", case.reference)
        return case.reference

    def messages(session: Any, reference: str) -> dict[str, Any]:
        case = h.visible_case(session, reference)
        found = live.get(case.reference)
        if found is None:
            raise h.Error("Pas de conversation en direct pour ce dossier.", 404)
        return {
            "etat": found.state,
            "tenue_par": found.operator if found.held else None,
            "attente_minutes": waiting_minutes(found),
            "messages": [
                {
                    "id": m.id,
                    "auteur": m.author,
                    "qui": AUTHOR_LABELS.get(m.author) or live.display_name(m.login),
                    "texte": m.text,
                    "danger": m.danger,
                    "heure": m.at.astimezone(h.tz).strftime("%H:%M:%S"),
                }
                for m in live.messages(case.reference)
            ],
        }

    @app.post("/dossiers/<reference>/direct/rejoindre")
    async def live_join(request: Request, reference: str):
        session = h.session_of(request)
        h.check_csrf(request, session)
        name = h.form_value(request, "nom")[:64]
        ref = await h.in_thread(join, session, reference, name)
        return done(request, ref)

    @app.post("/dossiers/<reference>/direct/envoyer")
    async def live_say(request: Request, reference: str):
        session = h.session_of(request)
        h.check_csrf(request, session)
        try:
            text = domain.clean_operator_text(h.form(request).get("message", ""))
        except ValueError as exc:
            raise h.Error(
                "Le message est vide."
                if str(exc) == "vide"
                else f"Message trop long : {domain.MAX_MESSAGE} caractères au plus.",
                400,
            ) from None
        result = await h.in_thread(say, session, reference, text)
        return done(request, reference.upper(), **result)

    @app.post("/dossiers/<reference>/direct/rendre")
    async def live_leave(request: Request, reference: str):
        session = h.session_of(request)
        h.check_csrf(request, session)
        ref = await h.in_thread(leave, session, reference)
        return done(request, ref)

    @app.get("/dossiers/<reference>/direct/messages")
    async def live_messages(request: Request, reference: str):
        session = h.session_of(request)
        body = await h.in_thread(messages, session, reference)
        return response.json(body, dumps=lambda v: __import__("json").dumps(v, ensure_ascii=False))
