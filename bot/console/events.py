"""The queue's live feed: Server-Sent Events of new cases and status changes, no personal data."""

from __future__ import annotations

import asyncio
import json

from sanic import Sanic
from sanic.request import Request

from bot.cases.store import StoreUnavailable
from bot.console.web import COOKIE, Console


def register(app: Sanic, c: Console) -> None:
    store, accounts = c.store, c.accounts

    @app.get("/evenements")
    async def events(request: Request) -> None:
        """New cases and status changes in her territories. Resumes after `Last-Event-ID` when the
        browser reconnects; ends when the session does."""
        session = c.session_of(request)
        token = request.cookies.get(COOKIE)
        latest = await c.in_thread(store.last_event_id)
        cursor = latest
        resume = request.headers.get("last-event-id", "")
        if resume.isdigit() and 0 < int(resume) <= latest:
            cursor = int(resume)
        # The feed shows references and territories: opening it is a view like any other.
        await c.in_thread(accounts.audit, session.operator.login, "flux", None, "reprise" if resume else None)
        resp = await request.respond(
            content_type="text/event-stream; charset=utf-8",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        await resp.send(f"retry: 3000\nid: {cursor}\n: ouvert\n\n")
        idle = 0.0
        while True:
            try:
                found = await c.in_thread(store.events_since, cursor)
            except StoreUnavailable:
                found = []  # the database is back in a moment; the stream stays open
            for event in found:
                cursor = event.id
                if session.operator.may_see(event.territory):
                    data = {
                        "reference": event.reference,
                        "type": event.kind,
                        "statut": event.status,
                        "priorite": event.priority,
                        "territoire": event.territory,
                    }
                    await resp.send(f"id: {event.id}\nevent: dossier\ndata: {json.dumps(data)}\n\n")
            idle += c.poll_seconds
            if idle >= c.ping_seconds:
                await resp.send(": ping\n\n")  # keeps proxies from closing a quiet stream
                idle = 0
            await asyncio.sleep(c.poll_seconds)
            # Still logged in? Checked at every beat (not counted as activity): logout, expiry or a
            # disabled account end the stream before anything else is sent.
            try:
                fresh = await c.in_thread(accounts.session, token, False)
            except StoreUnavailable:
                fresh = session
            if fresh is None:
                await resp.send("event: fin\ndata: {}\n\n")
                await resp.eof()
                return
            session = fresh  # her territories may have changed meanwhile
