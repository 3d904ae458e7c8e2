"""Training and deployment (admins): start a training run behind the safety gate, read the
gate's report, put an accepted candidate live, roll back. The work is triage/deploy.py's, the
same as `triage models`; every step is audited there.

While a training runs, the page reloads itself every few seconds (a meta refresh: the
Content-Security-Policy allows no inline script) to show the job's progress lines.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request

from triage import deploy, intents, training
from triage.console.accounts import ADMIN
from triage.console.sessions import Session
from triage.console.web import actor, blocking, console_of, requires

bp = Blueprint("models")
REFRESH_SECONDS = 3
DONE = {"training_started": "Training started. This page follows its progress; the serving model does not change."}


def deployment(request: Request) -> deploy.Deployment:
    return deploy.Deployment(console_of(request).svc.audit)


def _when(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def models_page(request: Request, status: int = 200, message: Optional[str] = None,
                reload: Optional[deploy.Reload] = None) -> response.HTTPResponse:
    models = deployment(request)
    jobs = models.jobs(limit=10)
    running = next((job for job in jobs if job["state"] == deploy.RUNNING), None)
    latest = jobs[0] if jobs else None
    return console_of(request).page(
        request, "models.html", status=status, message=message, info=DONE.get(request.args.get("done", "")),
        reload=reload, serving=models.serving(), previous=models.previous(), candidates=models.candidates(),
        jobs=jobs, running=running, latest=latest, progress=models.progress(latest["id"]) if latest else [],
        refresh=REFRESH_SECONDS if running else None, when=_when)


@bp.get("/models")
@requires(ADMIN)
async def models_list(request: Request, session: Session):
    return models_page(request)


@bp.post("/models/train")
@requires(ADMIN)
async def train(request: Request, session: Session):
    try:
        await blocking(deployment(request).start_training, actor(session))
    except deploy.DeployError as exc:
        return models_page(request, 409, str(exc))
    return response.redirect("/models?done=training_started")


def _report_rows(report: Dict[str, Any]) -> Dict[str, Any]:
    """The report as the template shows it: checks by language, confusion tables in a fixed order."""
    by_language: Dict[str, list] = {}
    for check in report["checks"]:
        by_language.setdefault(check["language"], []).append(check)
    routine = [name for name in intents.ROUTINE if name in report["candidate"]["confusion"]["routine_intents"]]
    columns = sorted({got for row in report["candidate"]["confusion"]["routine_intents"].values() for got in row},
                     key=lambda name: (name not in intents.ROUTINE, name))
    return {"by_language": by_language, "routine": routine, "routine_columns": columns}


@bp.get("/models/<name>/report")
@requires(ADMIN)
async def report(request: Request, session: Session, name: str):
    models = deployment(request)
    gate_report = models.report(name)
    if gate_report is None:
        return console_of(request).error(request, 404, "There is no gate report for this model.")
    return console_of(request).page(request, "model_report.html", report=gate_report, refusal=models.refusal(name),
                                    serving=models.serving(), decisions=training.DECISIONS, when=_when,
                                    **_report_rows(gate_report))


@bp.post("/models/<name>/activate")
@requires(ADMIN)
async def activate(request: Request, session: Session, name: str):
    try:
        result = await blocking(deployment(request).activate, name, actor(session))
    except deploy.DeployError as exc:
        return models_page(request, 409, str(exc))
    # Shown here rather than after a redirect: the result names the servers that did not load it.
    return models_page(request, reload=result)


@bp.post("/models/rollback")
@requires(ADMIN)
async def rollback(request: Request, session: Session):
    try:
        result = await blocking(deployment(request).rollback, actor(session))
    except deploy.DeployError as exc:
        return models_page(request, 409, str(exc))
    return models_page(request, reload=result)
