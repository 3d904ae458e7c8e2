"""The review queue (admins): label an item into the training data or dismiss it, through the
same ReviewQueue as the CLI. Labelled data reaches the model only through `make train` and its
safety gate."""
from __future__ import annotations

from typing import Optional

from sanic import Blueprint, response
from sanic.request import Request

from triage import intents
from triage.console.accounts import ADMIN
from triage.console.sessions import Session
from triage.console.web import actor, console_of, form_action, requires
from triage.language import SUPPORTED
from triage.review import Label, ReviewError

bp = Blueprint("review")


def review_page(request: Request, status: int = 200, message: Optional[str] = None) -> response.HTTPResponse:
    console = console_of(request)
    return console.page(request, "review.html", status=status, message=message,
                        items=console.svc.review.list(status="open", limit=200), intent_names=intents.ALL,
                        languages=SUPPORTED)


def review_action(request: Request, action, done: str):
    return form_action(action, ReviewError, lambda message: review_page(request, 400, message), f"/review?done={done}")


@bp.get("/review")
@requires(ADMIN)
async def review(request: Request, session: Session):
    return review_page(request)


@bp.post("/review/<item_id>/label")
@requires(ADMIN)
async def label(request: Request, session: Session, item_id: str):
    queue, form = console_of(request).svc.review, request.form
    return await review_action(request, lambda: queue.label(
        [Label(item_id, form.get("intent", ""), form.get("language") or None)], actor(session)), "labelled")


@bp.post("/review/<item_id>/dismiss")
@requires(ADMIN)
async def dismiss(request: Request, session: Session, item_id: str):
    queue = console_of(request).svc.review
    return await review_action(request, lambda: queue.dismiss(item_id, actor(session)), "dismissed")
