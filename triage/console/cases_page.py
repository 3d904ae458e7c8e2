"""Cases, for staff and admins: the inbox of open cases (and its JSON twin), one case, and
claiming, replying to and resolving it, through the same functions as the CLI (Cases,
send_staff_reply, handback.resolve). Viewing a case is audited."""
from __future__ import annotations

import datetime as dt
from typing import Optional
from urllib.parse import quote

from sanic import Blueprint, response
from sanic.request import Request

from triage import handback, intents
from triage.cases import OUTCOMES, CaseError
from triage.console.sessions import Session
from triage.console.web import CASE_WORKERS, POLL_HEADER, console_of, form_action, requires
from triage.db import utcnow

bp = Blueprint("cases")

REPLY_CHANNELS = ("facebook", "instagram", "x")


def case_rows(request: Request) -> list:
    now = utcnow()
    return [{**row, "overdue": row["sla_due_at"] < now} for row in console_of(request).svc.cases.list_open()]


@bp.get("/inbox")
@requires(*CASE_WORKERS)
async def inbox(request: Request, session: Session):
    rows = case_rows(request)
    template = "_case_rows.html" if request.headers.get(POLL_HEADER) == "1" else "inbox.html"
    return console_of(request).page(request, template, rows=rows, now=utcnow())


@bp.get("/api/cases")
@requires(*CASE_WORKERS)
async def api_cases(request: Request, session: Session):
    return response.json([{key: (value.isoformat() if isinstance(value, dt.datetime) else value)
                           for key, value in row.items()} for row in case_rows(request)])


def case_page(request: Request, session: Session, case_id: str, status: int = 200,
              message: Optional[str] = None, draft: str = "") -> response.HTTPResponse:
    console = console_of(request)
    try:
        case = console.svc.cases.show(case_id, session.username)  # audited as "viewed"
    except CaseError as exc:
        return console.error(request, 404, str(exc))
    return console.page(request, "case.html", status=status, case=case, message=message, draft=draft,
                        can_reply=case["channel"] in REPLY_CHANNELS and case["status"] != "resolved",
                        outcomes=OUTCOMES, intent_names=intents.ALL, routine=intents.ROUTINE, now=utcnow())


@bp.get("/cases/<case_id>")
@requires(*CASE_WORKERS)
async def show_case(request: Request, session: Session, case_id: str):
    return case_page(request, session, case_id)


async def case_action(request: Request, session: Session, case_id: str, action, done: str,
                      draft: str = "") -> response.HTTPResponse:
    def then(result) -> str:
        if done == "resolved":
            return "/inbox?done=" + ("resolved" if result else "resolved_pending")
        return f"/cases/{quote(case_id)}?done={done}"

    return await form_action(action, CaseError, lambda message: case_page(request, session, case_id, 400, message,
                                                                           draft), then)


@bp.post("/cases/<case_id>/claim")
@requires(*CASE_WORKERS)
async def claim(request: Request, session: Session, case_id: str):
    cases = console_of(request).svc.cases
    return await case_action(request, session, case_id, lambda: cases.claim(case_id, session.username), "claimed")


@bp.post("/cases/<case_id>/reply")
@requires(*CASE_WORKERS)
async def reply(request: Request, session: Session, case_id: str):
    from triage.channels.outbound import send_staff_reply

    svc = console_of(request).svc
    text = request.form.get("text", "")
    return await case_action(request, session, case_id,
                             lambda: send_staff_reply(svc, case_id, session.username, text), "replied", text)


@bp.post("/cases/<case_id>/resolve")
@requires(*CASE_WORKERS)
async def resolve(request: Request, session: Session, case_id: str):
    svc = console_of(request).svc
    form = request.form
    correct = form.get("correct_intent") or None
    was_routine = form.get("was_routine") == "1"
    return await case_action(request, session, case_id, lambda: handback.resolve(
        svc, case_id, session.username, form.get("outcome", ""), correct, was_routine), "resolved")
