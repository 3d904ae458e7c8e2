"""`triage report` (inbox figures as CSV or JSON, audited; `inbox-report` is its older name, kept as an alias)
and `triage outbox list` (messages to patients: waiting, sent, failed; never their text)."""
from __future__ import annotations

import os
from typing import IO

from triage.cli.common import CliError, fmt_time


def add_parser(sub) -> None:
    p_report = sub.add_parser("report", aliases=["inbox-report"],
                              help="inbox figures (traffic, response times, SLA, backlog) as CSV or JSON; no message "
                                   "text; audited")
    p_report.set_defaults(func=report_command)
    p_report.add_argument("--since", help="first day, YYYY-MM-DD in the clinic's time zone (default: 28 days ago)")
    p_report.add_argument("--until", help="last day, YYYY-MM-DD, inclusive (default: now)")
    p_report.add_argument("--format", choices=("csv", "json"), default="csv")
    p_report.add_argument("--output", help="write to this file (mode 600) instead of standard output")
    p_report.add_argument("--staff", help="who exports (recorded in the audit log)")

    p_outbox = sub.add_parser("outbox", help="messages to patients: waiting, sent, failed and why (no text)")
    p_outbox.set_defaults(func=outbox_command)
    outbox_sub = p_outbox.add_subparsers(dest="action", required=True)
    p_olist = outbox_sub.add_parser("list", help="waiting first (most urgent first), then the latest")
    p_olist.add_argument("--state", action="append", choices=("waiting", "sent", "failed"),
                         help="only these states (repeatable)")
    p_olist.add_argument("--limit", type=int, default=100)


def report_command(args, out: IO[str]) -> int:
    """The console's /reports figures as CSV or JSON; audited like the console's export."""
    from triage import clinic, inbox_report, services

    if not args.staff:
        raise CliError("--staff ID is required (exporting a report is audited)")
    tz = clinic.current().tz
    try:
        since, until = inbox_report.date_range(args.since, args.until, tz)
    except ValueError as exc:
        raise CliError(f"dates: {exc}") from None
    svc = services.default()
    report = inbox_report.build(svc.audit.engine, tz, since, until)
    svc.audit.append("report_exported", actor=f"staff:{args.staff}", outcome=args.format, details=report["range"])
    body = inbox_report.to_csv(report) if args.format == "csv" else inbox_report.to_json(report) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as target:
            target.write(body)
        os.chmod(args.output, 0o600)
    else:
        out.write(body)
    return 0


def outbox_command(args, out: IO[str]) -> int:
    """Messages to patients waiting, sent or failed (triage/outbox.py): times and reasons, never text."""
    from triage import services
    from triage.outbox import Outbox

    svc = services.default()
    box = Outbox(svc.keys, svc.cases.engine)
    rows = box.listing(states=args.state or None, limit=args.limit)
    out.write(f"{'id':<7}{'state':<9}{'priority':<9}{'channel':<11}{'kind':<12}{'tries':<6}{'queued':<22}"
              f"{'sent / next try':<22}why\n")
    for row in rows:
        when = row["sent_at"] if row["state"] == "sent" else (row["next_attempt_at"] if row["state"] == "waiting"
                                                              else None)
        out.write(f"{row['id']:<7}{row['state']:<9}{row['priority']:<9}{row['channel']:<11}{row['kind']:<12}"
                  f"{row['attempts']:<6}{fmt_time(row['created_at']):<22}{fmt_time(when):<22}"
                  f"{row['last_error'] or '-'}{' (case ' + row['case_id'] + ')' if row['case_id'] else ''}\n")
    counts = box.counts()
    out.write(f"{counts['waiting']} waiting, {counts['sent']} sent, {counts['failed']} failed\n")
    return 0
