"""Console pages for running the inbox (admins): reports, incident notices, and the
banners every signed-in page shows (an active incident notice, a recent surge alert).

A blueprint guarded by web.requires like every other page, so access control, CSRF and
the security headers are the same as everywhere else; app.create_app puts the banners
into the templates. Reports hold figures and case ids only (triage/inbox_report.py);
opening and exporting one is audited, as are notice changes (triage/incidents.py).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Dict, List, Optional

from sanic import Blueprint, response
from sanic.request import Request

from triage import clinic as clinic_config, inbox_report, incidents, surge
from triage.console.accounts import ADMIN
from triage.console.sessions import Session
from triage.console.web import actor, console_of, form_action, requires
from triage.db import utcnow

logger = logging.getLogger(__name__)
bp = Blueprint("inbox")

EXPORTS = {"csv": ("text/csv; charset=utf-8", inbox_report.to_csv),
           "json": ("application/json; charset=utf-8", inbox_report.to_json)}
SCOPE_LABELS = {incidents.ROUTINE: "routine answers", incidents.ESCALATION: "private and crisis replies",
                incidents.PUBLIC: "public comment and mention replies", incidents.ALL: "all replies"}


def banners(svc) -> List[Dict[str, str]]:
    """What every signed-in page shows above its content. Never fails a page."""
    found = []
    try:
        for notice in incidents.Notices(svc.audit).active():
            found.append({"kind": "incident", "text": f"Incident notice ({SCOPE_LABELS[notice['scope']]}, "
                                                      f"until {_local(notice['ends_at'])}): {notice['texts']['en']}"})
        alert = surge.recent_alert(svc.audit.engine, surge.SurgeSettings.from_clinic(clinic_config.current()))
        if alert:
            found.append({"kind": "surge", "text": f"{surge.summary(alert['figures'], alert['reasons'])} "
                                                   f"(at {_local(alert['ts'])})"})
    except Exception as exc:  # noqa: BLE001
        logger.error("console banners unavailable (%s)", type(exc).__name__)
    return found


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(clinic_config.current().tz).strftime("%Y-%m-%d %H:%M")


def _parse_local(value: str) -> dt.datetime:
    """A datetime-local form value, read in the clinic's time zone."""
    try:
        parsed = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise incidents.NoticeError("give start and end as date and time (YYYY-MM-DDTHH:MM)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=clinic_config.current().tz)).astimezone(dt.timezone.utc)


def notices_of(request: Request) -> incidents.Notices:
    return incidents.Notices(console_of(request).svc.audit)


def report_for(request: Request):
    tz = clinic_config.current().tz
    since, until = request.args.get("since") or None, request.args.get("until") or None
    start, end = inbox_report.date_range(since, until, tz)
    return inbox_report.build(console_of(request).svc.audit.engine, tz, start, end), {"since": since or "",
                                                                                      "until": until or ""}


@bp.get("/reports")
@requires(ADMIN)
async def reports(request: Request, session: Session):
    console = console_of(request)
    try:
        report, dates = report_for(request)
    except ValueError as exc:
        return console.error(request, 400, f"Dates: {exc}")
    console.svc.audit.append("report_viewed", actor=actor(session), outcome="html", details=report["range"])
    return console.page(request, "reports.html", report=report, dates=dates, charts=inbox_report.charts(report),
                        daily=inbox_report.daily_totals(report))


@bp.get("/reports/export")
@requires(ADMIN)
async def reports_export(request: Request, session: Session):
    console = console_of(request)
    form = request.args.get("format", "csv")
    if form not in EXPORTS:
        return console.error(request, 400, "Export as csv or json.")
    try:
        report, _ = report_for(request)
    except ValueError as exc:
        return console.error(request, 400, f"Dates: {exc}")
    console.svc.audit.append("report_exported", actor=actor(session), outcome=form, details=report["range"])
    content_type, render = EXPORTS[form]
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return response.text(render(report), content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="inbox-report-{stamp}.{form}"'})


def notices_page(request: Request, status: int = 200, message: Optional[str] = None,
                 draft: Optional[Dict[str, Any]] = None) -> response.HTTPResponse:
    now = utcnow()
    rows = [{**n, "active": n["starts_at"] <= now < n["ends_at"], "upcoming": n["starts_at"] > now,
             "starts_local": _local(n["starts_at"]).replace(" ", "T"), "ends_local": _local(n["ends_at"]).replace(" ", "T")}
            for n in notices_of(request).list()]
    default_start = _local(now).replace(" ", "T")
    default_end = _local(now + dt.timedelta(hours=2)).replace(" ", "T")
    return console_of(request).page(
        request, "notices.html", status=status, message=message, notices=rows, scopes=SCOPE_LABELS,
        languages=incidents.LANGUAGES, max_chars=incidents.MAX_CHARS,
        draft=draft or {"scope": incidents.ROUTINE, "starts": default_start, "ends": default_end, "texts": {}})


def form_notice(request: Request) -> Dict[str, Any]:
    form = request.form or {}
    return {"scope": form.get("scope", ""), "starts": form.get("starts", ""), "ends": form.get("ends", ""),
            "texts": {lang: form.get(f"text_{lang}", "") for lang in incidents.LANGUAGES}}


def notice_action(request: Request, action: Callable[[], Any], draft=None):
    return form_action(action, incidents.NoticeError, lambda message: notices_page(request, 400, message, draft),
                       "/notices")


@bp.get("/notices")
@requires(ADMIN)
async def notices_list(request: Request, session: Session):
    return notices_page(request)


@bp.post("/notices")
@requires(ADMIN)
async def notice_create(request: Request, session: Session):
    notices, draft = notices_of(request), form_notice(request)
    return await notice_action(request, lambda: notices.create(
        draft["texts"], draft["scope"], _parse_local(draft["starts"]), _parse_local(draft["ends"]),
        actor(session)), draft)


@bp.post("/notices/<notice_id>")
@requires(ADMIN)
async def notice_change(request: Request, session: Session, notice_id: str):
    notices, draft = notices_of(request), form_notice(request)
    return await notice_action(request, lambda: notices.change(
        notice_id, draft["texts"], draft["scope"], _parse_local(draft["starts"]), _parse_local(draft["ends"]),
        actor(session)))


@bp.post("/notices/<notice_id>/end")
@requires(ADMIN)
async def notice_end(request: Request, session: Session, notice_id: str):
    notices = notices_of(request)
    return await notice_action(request, lambda: notices.end(notice_id, actor(session)))
