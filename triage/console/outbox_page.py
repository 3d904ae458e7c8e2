"""The console's outbox page (/outbox): messages to patients waiting, sent or failed,
with times and reasons (triage/outbox.py). Never their text or the patient's id."""
from __future__ import annotations

from typing import Callable

from sanic import Sanic
from sanic.request import Request

from triage.console.accounts import ADMIN, STAFF
from triage.db import utcnow
from triage.outbox import FAILED, SENT, WAITING, Outbox


def register(app: Sanic, svc, page: Callable, requires: Callable) -> None:
    box = Outbox(svc.keys, svc.cases.engine)

    @app.get("/outbox")
    @requires(STAFF, ADMIN)
    async def outbox_page(request: Request, session):
        state = request.args.get("state", "")
        states = [state] if state in (WAITING, SENT, FAILED) else None
        return page(request, "outbox.html", rows=box.listing(states=states, limit=200), counts=box.counts(),
                    state=state, now=utcnow())
