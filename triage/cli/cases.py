"""`triage cases list|show|claim|reply|resolve`: staff work on handoff cases; every action but list names --staff."""
from __future__ import annotations

import sys
from typing import IO

from triage.cli.common import CliError, fmt_time, time_left


def add_parser(sub) -> None:
    from triage.cases import OUTCOMES

    p_cases = sub.add_parser("cases", help="handoff cases")
    p_cases.set_defaults(func=cases_command)
    cases_sub = p_cases.add_subparsers(dest="action", required=True)
    cases_sub.add_parser("list", help="open cases, urgent first, then by time to SLA")
    for name, text in (("show", "decrypt a case (audited as viewed)"), ("claim", "take a case")):
        p = cases_sub.add_parser(name, help=text)
        p.add_argument("case_id")
        p.add_argument("--staff", required=True)
    p_reply = cases_sub.add_parser("reply", help="send the patient a reply through their channel (audited)")
    p_reply.add_argument("case_id")
    p_reply.add_argument("--staff", required=True)
    p_reply.add_argument("--text", help="the reply (default: standard input)")
    p_resolve = cases_sub.add_parser("resolve", help="close a case and hand the conversation back to the bot")
    p_resolve.add_argument("case_id")
    p_resolve.add_argument("--staff", required=True)
    p_resolve.add_argument("--outcome", required=True, choices=OUTCOMES)
    p_resolve.add_argument("--correct-intent", help="the intent the message really had (feeds the review queue)")
    p_resolve.add_argument("--was-routine", action="store_true", help="the escalation was not needed")


def cases_command(args, out: IO[str]) -> int:
    from triage import handback, services

    svc = services.default()
    if args.action == "list":
        rows = svc.cases.list_open()
        out.write(f"{'case id':<38}{'priority':<10}{'status':<9}{'channel':<11}{'SLA left':<18}claimed by\n")
        for row in rows:
            out.write(f"{row['id']:<38}{row['priority']:<10}{row['status']:<9}{row['channel']:<11}"
                      f"{time_left(row['sla_due_at']):<18}{row['claimed_by'] or '-'}\n")
        out.write(f"{len(rows)} open case(s)\n")
        return 0
    if not args.staff:
        raise CliError("--staff ID is required: every staff action is recorded with who did it")
    if args.action == "show":
        case = svc.cases.show(args.case_id, args.staff)
        out.write(f"case {case['id']}  {case['priority'].upper()}  {case['status']}  via {case['channel']}\n")
        out.write(f"decision {case['decision']} ({case['intent']}, confidence {case['confidence']}), "
                  f"language {case['language']}\n")
        out.write(f"created {fmt_time(case['created_at'])}, SLA {fmt_time(case['sla_due_at'])} "
                  f"({time_left(case['sla_due_at'])})\n")
        for message in case["messages"]:
            text = message["text"] if message["text"] is not None else f"[{message['removed']}]"
            out.write(f"  [{fmt_time(message['ts'])}] {message['author']}: {text}\n")
        return 0
    if args.action == "reply":
        from triage.channels.outbound import ReplyRefused, send_staff_reply

        text = args.text if args.text is not None else sys.stdin.read()
        try:
            channel = send_staff_reply(svc, args.case_id, args.staff, text)
        except ReplyRefused as exc:  # the draft back, so that text typed into stdin is not lost
            sys.stderr.write(f"triage: reply not sent: {exc}\nYour draft:\n{text.rstrip()}\n")
            return 1
        out.write(f"reply sent to the patient via {channel}\n")
        return 0
    if args.action == "claim":
        svc.cases.claim(args.case_id, args.staff)
        out.write(f"case {args.case_id} claimed by {args.staff}\n")
        return 0
    resumed = handback.resolve(svc, args.case_id, args.staff, args.outcome, args.correct_intent, args.was_routine)
    out.write(f"case {args.case_id} resolved ({args.outcome}); conversation "
              + ("handed back to the bot\n" if resumed else "will be handed back by the worker when Rasa is reachable\n"))
    return 0
