"""`triage retention purge` (patient text past its retention) and `triage forget` (one patient's text, "forget me"),
both audited."""
from __future__ import annotations

import json
from typing import IO

from triage.cli.common import CliError


def add_parser(sub) -> None:
    p_retention = sub.add_parser("retention", help="delete patient text past its retention (audited)")
    p_retention.set_defaults(func=retention_command)
    retention_sub = p_retention.add_subparsers(dest="action", required=True)
    p_purge = retention_sub.add_parser("purge", help="delete old conversations and resolved cases' message text")
    p_purge.add_argument("--days", type=int, help="conversation retention in days (default: clinic.yml, 30)")
    p_purge.add_argument("--case-days", type=int, help="case message retention in days (default: clinic.yml, 30)")
    p_purge.add_argument("--staff", required=True)

    p_forget = sub.add_parser("forget", help="delete one patient's conversation and case text (audited)")
    p_forget.set_defaults(func=forget_command)
    p_forget.add_argument("--channel", required=True, help="rest, facebook, x ...")
    p_forget.add_argument("--sender", required=True, help="the channel's user id")
    p_forget.add_argument("--staff", required=True)


def retention_command(args, out: IO[str]) -> int:
    from triage import clinic, retention, services
    from triage.rasa import tracker_store

    svc = services.default()
    policy = retention.RetentionPolicy.from_clinic(clinic.current())
    if args.days is not None:
        policy.conversation_days = args.days
    if args.case_days is not None:
        policy.case_message_days = args.case_days
    if min(policy.conversation_days, policy.case_message_days) < 1:
        raise CliError("retention must be at least 1 day")
    result = retention.purge(svc, tracker_store.from_endpoints(), policy, actor=f"staff:{args.staff}")
    out.write(json.dumps(result) + "\n")
    return 0


def forget_command(args, out: IO[str]) -> int:
    from triage import retention, services
    from triage.rasa import tracker_store

    result = retention.forget(services.default(), tracker_store.from_endpoints(), args.channel, args.sender,
                              actor=f"staff:{args.staff}")
    out.write(json.dumps(result) + "\n")
    return 0
