"""The console's outbox page (/outbox): messages to patients waiting, sent or failed,
with times and reasons (triage/outbox.py). Never their text or the patient's id."""
from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request

from triage.console.sessions import Session
from triage.console.web import CASE_WORKERS, console_of, requires
from triage.db import utcnow
from triage.outbox import FAILED, SENT, WAITING, Outbox

bp = Blueprint("outbox")


@bp.get("/outbox")
@requires(*CASE_WORKERS)
async def outbox_page(request: Request, session: Session):
    console = console_of(request)
    box = Outbox(console.svc.keys, console.svc.cases.engine)
    state = request.args.get("state", "")
    states = [state] if state in (WAITING, SENT, FAILED) else None
    return console.page(request, "outbox.html", rows=box.listing(states=states, limit=200), counts=box.counts(),
                        state=state, now=utcnow())
