"""The audit log: its metadata, filtered, with the hash chain's verify status (auditors and
admins), and the decrypted export (admins only; the export is itself audited)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from sanic import Blueprint, response
from sanic.request import Request

from triage.audit import EVENTS
from triage.console.accounts import ADMIN
from triage.console.sessions import Session
from triage.console.web import AUDIT_READERS, actor, blocking, console_of, requires
from triage.db import utcnow

bp = Blueprint("audit")

PAGE_SIZE = 200


@bp.get("/audit")
@requires(*AUDIT_READERS)
async def audit(request: Request, session: Session):
    console = console_of(request)
    filters = {key: request.args.get(key, "").strip() for key in ("event", "actor", "case_id", "since", "until")}
    before = request.args.get("before", "")
    entries = console.svc.audit.search(**{k: v or None for k, v in filters.items()},
                                       before_seq=int(before) if before.isdigit() else None, limit=PAGE_SIZE)
    verify = await blocking(console.svc.audit.verify)
    more = {**filters, "before": entries[-1]["seq"]} if len(entries) == PAGE_SIZE else None
    return console.page(request, "audit.html", entries=entries, verify=verify, filters=filters, events=EVENTS,
                        more=urlencode(more) if more else None)


@bp.post("/audit/export")
@requires(ADMIN)
async def audit_export(request: Request, session: Session):
    console = console_of(request)
    since, until = request.form.get("since") or None, request.form.get("until") or None
    rows = await blocking(console.svc.audit.export, since, until, actor=actor(session))  # audited as "exported"
    body = "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return response.text(body, content_type="application/x-ndjson; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="audit-export-{stamp}.jsonl"'})
