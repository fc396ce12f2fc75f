"""The queue and a case's page: take it, move its status, add a note. Every view is audited.

The blocking parts (database) are plain functions run through `Console.in_thread`; the routes
only read the request, check it and render.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from sanic import Sanic, response
from sanic.request import Request

from bot.cases.model import (
    CLOSED,
    IN_PROGRESS,
    NEW,
    OPEN_STATUSES,
    STATUSES,
    TAKEN,
    TRANSITIONS,
    WITHDRAWN,
    utcnow,
)
from bot.cases.store import CaseNotFound, InvalidTransition
from bot.console import live as live_console
from bot.console.accounts import TERRITORY, Session
from bot.console.web import MAX_NOTE, MAX_OUTCOME, STATUS_LABELS, Console, ConsoleError, duration

OUTCOME_SUGGESTIONS = (
    "contactée, orientée vers le pack",
    "contactée, accompagnement en cours ailleurs",
    "injoignable après plusieurs essais",
    "ne souhaite plus être contactée",
    "orientée vers une association locale",
)


class CasePages:
    """The blocking side of the queue and case pages, one method per thing done."""

    def __init__(self, c: Console) -> None:
        self.c = c

    def due(self, created_at: dt.datetime, priority: str) -> dt.datetime:
        return created_at + dt.timedelta(hours=self.c.targets.get(priority, 120))

    def queue_rows(self, session: Session, status: str, territory: str) -> list[dict[str, Any]]:
        c = self.c
        if status == "tous":
            statuses = list(STATUSES)
        else:
            statuses = [status] if status in STATUSES else list(OPEN_STATUSES)
        scope = [territory] if territory else session.operator.scope
        cases = c.store.list_queue(scope, statuses, limit=500)
        taken = c.accounts.assignees(case.reference for case in cases)
        now = utcnow()
        rows = []
        for case in cases:
            due = self.due(case.created_at, case.priority)
            left = due - now
            waiting = case.status in (NEW, TAKEN)  # no first contact yet: the target still runs
            rows.append(
                {
                    "case": case,
                    "age": duration(now - case.created_at),
                    "assignee": taken.get(case.reference),
                    "waiting": waiting,
                    "due": due,
                    "left": duration(abs(left)),
                    "late": waiting and left.total_seconds() < 0,
                    "soon": waiting and 0 <= left.total_seconds() < 0.25 * c.targets.get(case.priority, 120) * 3600,
                }
            )
        return live_console.queue_first(rows, c.app.ctx.live)  # live conversations waiting for a référent first

    def case_view(self, session: Session, reference: str) -> dict[str, Any]:
        c = self.c
        case = c.visible_case(session, reference)
        notes = c.store.notes(case.reference)
        c.accounts.audit(session.operator.login, "vue", case.reference)
        assignee = c.accounts.assignees([case.reference]).get(case.reference)
        # Forward moves first (the default choice), handing back to the queue last; withdrawal is hers only.
        next_statuses = [s for s in (TAKEN, IN_PROGRESS, CLOSED, NEW) if s in TRANSITIONS[case.status]]
        explained = _explained(case.eligibility, c.eligibility_engine)
        return dict(
            **live_console.case_values(c.app.ctx.live, case, session.operator.login),
            case=case,
            notes=notes,
            assignee=assignee,
            explained=explained,
            next_statuses=next_statuses,
            history=c.accounts.audit_entries(100, case.reference),
            max_note=MAX_NOTE,
            max_outcome=MAX_OUTCOME,
            outcome_suggestions=OUTCOME_SUGGESTIONS,
            due=self.due(case.created_at, case.priority),
        )

    def take_case(self, session: Session, reference: str, confirmed_from: str) -> str | tuple[str, str]:
        """The reference once taken; (reference, holder) when someone else holds it and the
        operator has not confirmed taking it from that very person."""
        c = self.c
        case = c.visible_case(session, reference)
        if not case.is_open:
            raise ConsoleError("Ce dossier est clos ou retiré : il ne peut plus être pris.", 409)
        login = session.operator.login
        previous = c.accounts.assignees([case.reference]).get(case.reference)
        if previous == login and case.status != NEW:
            return case.reference  # already hers: nothing to do
        if previous and previous != login and confirmed_from != previous:
            c.accounts.audit(login, "reprise_demandee", case.reference, f"tenu par {previous}")
            return case.reference, previous
        c.accounts.assign(case.reference, login)
        if case.status == NEW:
            try:
                c.store.update_status(case.reference, TAKEN)
            except InvalidTransition:
                raise ConsoleError("Le dossier a changé entre-temps : rechargez la page.", 409) from None
        c.accounts.audit(
            login, "prise", case.reference, f"repris de {previous}" if previous and previous != login else None
        )
        return case.reference

    def change_status(self, session: Session, reference: str, status: str, outcome: str) -> str:
        c = self.c
        case = c.visible_case(session, reference)
        if case.status == status:
            raise ConsoleError(f"Le dossier est déjà « {STATUS_LABELS[status]} ».", 409)
        try:
            c.store.update_status(case.reference, status, outcome=outcome or None)
        except InvalidTransition:
            raise ConsoleError(
                f"Passage de « {STATUS_LABELS[case.status]} » à « {STATUS_LABELS[status]} » non permis.", 409
            ) from None
        except CaseNotFound:
            raise ConsoleError("Dossier introuvable : vérifiez la référence.", 404) from None
        login = session.operator.login
        if status == NEW:
            c.accounts.unassign(case.reference)  # handed back to the queue: anyone may take it
        elif not c.accounts.assignees([case.reference]).get(case.reference):
            c.accounts.assign(case.reference, login)  # whoever moves it along holds it
        c.accounts.audit(login, "statut", case.reference, status)
        return case.reference

    def write_note(self, session: Session, reference: str, text: str) -> str:
        c = self.c
        case = c.visible_case(session, reference)
        try:
            c.store.add_note(case.reference, session.operator.login, text)
        except InvalidTransition:
            raise ConsoleError("Ce dossier a été retiré : plus de notes possibles.", 409) from None
        c.accounts.audit(session.operator.login, "note", case.reference)
        return case.reference


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


def register(app: Sanic, c: Console) -> None:
    pages = CasePages(c)

    @app.get("/")
    async def queue(request: Request) -> response.HTTPResponse:
        session = c.session_of(request)
        status, territory = queue_filters(request, session)
        await c.in_thread(c.audit_view, session, "vue_file", request)
        rows = await c.in_thread(pages.queue_rows, session, status, territory)
        return c.render(
            "queue.html",
            session=session,
            rows=rows,
            current_status=status,
            territory=territory,
            statuses=STATUSES,
            territories=session.operator.territories,
        )

    @app.get("/file")
    async def queue_fragment(request: Request) -> response.HTTPResponse:
        session = c.session_of(request)
        status, territory = queue_filters(request, session)
        await c.in_thread(c.audit_view, session, "vue_file", request, True)
        rows = await c.in_thread(pages.queue_rows, session, status, territory)
        return c.render("queue_rows.html", rows=rows)

    @app.get("/dossiers/<reference>")
    async def case_page(request: Request, reference: str) -> response.HTTPResponse:
        session = c.session_of(request)
        values = await c.in_thread(pages.case_view, session, reference)
        return c.render("case.html", session=session, **values)

    @app.post("/dossiers/<reference>/prendre")
    async def take(request: Request, reference: str) -> response.HTTPResponse:
        session = c.session_of(request)
        c.check_csrf(request, session)
        done = await c.in_thread(pages.take_case, session, reference, c.form_value(request, "confirmer"))
        if isinstance(done, tuple):  # held by someone else: never taken silently
            ref, holder = done
            return c.render("take_confirm.html", status=409, session=session, reference=ref, holder=holder)
        return response.redirect(f"/dossiers/{done}")

    @app.post("/dossiers/<reference>/statut")
    async def change_status(request: Request, reference: str) -> response.HTTPResponse:
        session = c.session_of(request)
        c.check_csrf(request, session)
        status, outcome = c.form_value(request, "statut"), c.form_value(request, "issue")
        if status not in STATUSES or status == WITHDRAWN:
            raise ConsoleError("Statut inconnu : choisissez-en un dans la liste.", 400)
        if status == CLOSED and not outcome:
            raise ConsoleError("Pour clore un dossier, indiquez son issue.", 400)
        if len(outcome) > MAX_OUTCOME:
            raise ConsoleError(f"Issue trop longue : {MAX_OUTCOME} caractères au plus.", 413)
        ref = await c.in_thread(pages.change_status, session, reference, status, outcome)
        return response.redirect(f"/dossiers/{ref}")

    @app.post("/dossiers/<reference>/notes")
    async def add_note(request: Request, reference: str) -> response.HTTPResponse:
        session = c.session_of(request)
        c.check_csrf(request, session)
        text = c.form_value(request, "note").replace("\r\n", "\n")
        if not text:
            raise ConsoleError("La note est vide.", 400)
        if len(text) > MAX_NOTE:
            raise ConsoleError(f"Note trop longue : {MAX_NOTE} caractères au plus.", 413)
        ref = await c.in_thread(pages.write_note, session, reference, text)
        return response.redirect(f"/dossiers/{ref}#notes")


def _explained(eligibility: dict[str, Any], engine_of: Callable[[], Any] | None) -> list[str] | None:
    """The summary with its reasons, re-derived from her answers when the rules have not changed since."""
    outcomes = (eligibility or {}).get("outcomes") or {}
    if not outcomes or engine_of is None:
        return None
    engine = engine_of()
    if eligibility.get("rules_version") != engine.rules.version:
        return None  # other rules now: show the stored outcomes only
    try:
        explained: list[str] = engine.explained(tuple(outcomes), eligibility.get("answers") or {})
        return explained
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
