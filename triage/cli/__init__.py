"""`triage` command line.

    triage classify [FILE]                 one message per line in, one JSON object per line out
    triage clinic check                    validate clinic.yml
    triage cases list|show|claim|reply|resolve   staff work on cases (--staff ID is recorded)
    triage review list|label|dismiss      admins: de-identified review queue, labelling into data/
    triage train [--force --admin NAME]    retrain behind the held-out safety gate
    triage eval                            evaluation report in reports/ (vs Rasa's default pipeline)
    triage audit verify|export             the audit chain, and a decrypted compliance export
    triage keys init|rotate                the master keyring
    triage retention purge / triage forget delete patient text (retention, "forget me")
    triage worker                          deliver staff notices, re-notify, resume conversations, surge alerts
    triage inbox-report --staff ID         traffic, response times, SLA and backlog as CSV or JSON (audited)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import IO, Any, Dict, Iterable, Iterator, Optional, Tuple

from triage.language import SUPPORTED

CONTRACT_KEYS = ("text", "decision", "intent", "confidence", "language")


def _messages(lines: Iterable[str]) -> Iterator[Tuple[int, Optional[str], Dict[str, Any], Optional[str]]]:
    """Yields (line number, text, metadata, error). A line that looks like JSON
    but is not a usable object is reported, never silently treated as text."""
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError as exc:
                yield number, None, {}, f"line {number}: invalid JSON ({exc.msg})"
                continue
            text = obj.get("text") if isinstance(obj, dict) else None
            if not isinstance(text, str):
                yield number, None, {}, f'line {number}: JSON object needs a string "text" key'
                continue
            metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            yield number, text, metadata, None
        else:
            yield number, line, {}, None


def classify(source: IO[str], out: IO[str], err: IO[str], model: Optional[str] = None, explain: bool = False) -> int:
    from triage.model import Parser
    from triage.text import clean

    parser = Parser(model)
    failures = 0
    for number, text, metadata, error in _messages(source):
        if error:
            failures += 1
            print(error, file=err)
            out.write(json.dumps({"text": None, "error": error}, ensure_ascii=False) + "\n")
            continue
        text = clean(text)  # as every channel does: the text the patient meant, encodable
        try:
            decision = parser.triage(text, metadata)
        except Exception as exc:  # noqa: BLE001  one line must not end the batch
            failures += 1
            error = f"line {number}: could not be classified ({type(exc).__name__})"  # no text: it may be PHI
            print(error, file=err)
            out.write(json.dumps({"text": text, "error": error}, ensure_ascii=False) + "\n")
            continue
        row: Dict[str, Any] = {"text": text, **{k: decision[k] for k in CONTRACT_KEYS[1:]}}
        if explain:
            row.update(reasons=decision["reasons"], model_intent=decision["model_intent"],
                       model_confidence=decision["model_confidence"])
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    return 2 if failures else 0


def clinic_check(out: IO[str]) -> int:
    from triage import clinic, intents
    from triage.replies import reply_for

    config = clinic.load()
    for language in SUPPORTED:
        for intent in intents.ROUTINE:
            reply_for({"decision": "answer", "intent": intent, "language": language}, "", config)
        for decision in ("private", "crisis"):
            reply_for({"decision": decision, "intent": "", "language": language}, "", config)
    out.write(f"{config.source}: OK ({len(config.departments)} departments, {len(config.holidays)} holidays)\n")
    return 0


def worker_command(args, out: IO[str]) -> int:
    import logging

    from triage import services, worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    if args.once:
        out.write(json.dumps(worker.run_once(services.default())) + "\n")
        return 0
    worker.run_forever()
    return 0


def _fmt_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _left(due) -> str:
    from triage.db import utcnow

    minutes = int((due - utcnow()).total_seconds() // 60)
    return f"{minutes} min" if minutes >= 0 else f"OVERDUE {-minutes} min"


def cases_command(args, out: IO[str]) -> int:
    from triage import handback, services

    svc = services.default()
    if args.action == "list":
        rows = svc.cases.list_open()
        out.write(f"{'case id':<38}{'priority':<10}{'status':<9}{'channel':<11}{'SLA left':<18}claimed by\n")
        for row in rows:
            out.write(f"{row['id']:<38}{row['priority']:<10}{row['status']:<9}{row['channel']:<11}"
                      f"{_left(row['sla_due_at']):<18}{row['claimed_by'] or '-'}\n")
        out.write(f"{len(rows)} open case(s)\n")
        return 0
    if not args.staff:
        raise CliError("--staff ID is required: every staff action is recorded with who did it")
    if args.action == "show":
        case = svc.cases.show(args.case_id, args.staff)
        out.write(f"case {case['id']}  {case['priority'].upper()}  {case['status']}  via {case['channel']}\n")
        out.write(f"decision {case['decision']} ({case['intent']}, confidence {case['confidence']}), "
                  f"language {case['language']}\n")
        out.write(f"created {_fmt_time(case['created_at'])}, SLA {_fmt_time(case['sla_due_at'])} ({_left(case['sla_due_at'])})\n")
        for message in case["messages"]:
            text = message["text"] if message["text"] is not None else f"[{message['removed']}]"
            out.write(f"  [{_fmt_time(message['ts'])}] {message['author']}: {text}\n")
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


def review_command(args, out: IO[str]) -> int:
    from pathlib import Path

    from triage import services
    from triage.review import Label, read_labels_csv

    queue = services.default().review
    if args.action == "list":
        items = queue.list(status=None if args.all else "open", source=args.source, language=args.language,
                           limit=args.limit)
        if args.json:
            for item in items:
                out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
            return 0
        for item in items:
            model = f"model {item['model_intent'] or '-'} {item['confidence'] or 0:.2f}"
            suggested = f"  staff say: {item['suggested_intent']}" if item.get("suggested_intent") else ""
            out.write(f"{item['id']}  {_fmt_time(item['created_at'])}  {item['source']:<16} {item['language'] or '-':<5}"
                      f" {item['decision']}/{item['intent']} ({model}){suggested}"
                      + (f"  [{item['status']}]" if args.all else "") + "\n")
            out.write(f"    {item['text']}\n")
        out.write(f"{len(items)} item(s); text is de-identified. Label with: triage review label ID INTENT --admin NAME\n")
        return 0
    actor = f"admin:{args.admin}"
    if args.action == "dismiss":
        queue.dismiss(args.item_id, actor)
        out.write(f"review item {args.item_id} dismissed\n")
        return 0
    if args.csv:
        if args.item_id or args.intent:
            raise CliError("give either ID INTENT or --csv FILE, not both")
        labels = read_labels_csv(Path(args.csv))
    elif args.item_id and args.intent:
        labels = [Label(args.item_id, args.intent, args.language)]
    else:
        raise CliError("give ID INTENT, or --csv FILE with rows id,intent[,language]")
    for result in queue.label(labels, actor, Path(args.data_dir) if args.data_dir else None):
        verb = "added to" if result["added"] else "already in"
        out.write(f"{result['item']}: {result['intent']} ({result['language']}) {verb} {result['file']}\n")
    out.write("Retrain with `triage train` (the safety gate decides whether the new model goes live).\n")
    return 0


def train_command(args, out: IO[str]) -> int:
    from pathlib import Path

    from triage import training

    if args.force and not args.admin:
        raise CliError("--force needs --admin NAME: overriding the safety gate is recorded with who did it")
    actor = f"admin:{args.admin}" if args.admin else "system"
    project = Path(args.project) if args.project else training.PROJECT_ROOT
    return training.train(project, out, force=args.force, actor=actor, margin=args.margin, if_needed=args.if_needed)


def eval_command(args, out: IO[str]) -> int:
    from pathlib import Path

    from triage import report

    return report.run(Path(args.reports), out, model=args.model, baseline=not args.no_baseline,
                      baseline_epochs=args.baseline_epochs)


def audit_command(args, out: IO[str]) -> int:
    from triage import services

    svc = services.default()
    if args.action == "verify":
        result = svc.audit.verify(checkpoint=True)  # an intact log is anchored up to here
        out.write(str(result) + "\n")
        return 0 if result.ok else 3
    if not args.staff:
        raise CliError("--staff ID is required for an export")
    rows = svc.audit.export(args.since, args.until, actor=f"staff:{args.staff}")
    target = open(args.output, "w", encoding="utf-8") if args.output else out
    for row in rows:
        target.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    if args.output:
        target.close()
        os.chmod(args.output, 0o600)
        print(f"{len(rows)} entries written to {args.output}", file=sys.stderr)
    return 0


def keys_command(args, out: IO[str]) -> int:
    from pathlib import Path

    from triage import keys

    if args.action == "init":
        path = Path(args.file or os.environ.get(keys.ENV_FILE) or "")
        if not str(path):
            raise CliError(f"give --file or set {keys.ENV_FILE}")
        store = keys.KeyStore.create_file(path)
        out.write(f"created keyring {path} with master key {store.active}\n")
        return 0
    from triage import services

    svc = services.default()
    old = svc.keys.active
    new = svc.keys.add_master_key()
    from triage.rasa import tracker_store

    store = tracker_store.from_endpoints()
    changed = (svc.audit.rewrap_all() + svc.cases.rewrap_all() + svc.review.rewrap_all()
               + (store.rewrap_all() if store else 0))
    svc.audit.append("key_rotated", actor=f"staff:{args.staff}" if args.staff else "system",
                     details={"from": old, "to": new, "rewrapped": changed})
    out.write(f"new master key {new} is active; {changed} record(s) re-wrapped; {old} kept for older backups\n")
    return 0


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


def console_command(args, out: IO[str]) -> int:
    if args.action == "serve":
        from triage.console.app import ConsoleSettings, serve

        import dataclasses

        settings = ConsoleSettings.from_env()
        serve(dataclasses.replace(settings, host=args.host or settings.host, port=args.port or settings.port))
        return 0
    import getpass

    from triage import services
    from triage.console.accounts import Accounts

    accounts = Accounts(services.default().audit)
    actor = f"cli:{getpass.getuser()}"
    if args.action == "users":
        for account in accounts.list():
            out.write(f"{account['username']:<24}{account['role']:<9}{'active' if account['active'] else 'disabled':<10}"
                      f"created {_fmt_time(account['created_at'])} by {account['created_by']}\n")
        return 0
    if args.action in ("disable", "enable"):
        accounts.set_active(args.username, args.action == "enable", actor)
        out.write(f"account {args.username} {args.action}d\n")
        return 0
    if args.action == "reset-totp":
        from triage.console.accounts import ADMIN, AccountError
        from triage.console.totp import SecondFactor

        admin = accounts.get(args.admin)
        if not (admin and admin["active"] and admin["role"] == ADMIN):
            raise AccountError(f"--admin {args.admin!r} is not an active admin account")
        SecondFactor(accounts).reset(args.username, f"admin:{admin['username']}")
        out.write(f"second factor of {args.username} reset; it enrols again at its next sign-in\n")
        return 0
    password = _read_password(args.password_stdin)
    if args.action == "add-user":
        accounts.create(args.username, args.role, password, actor)
        out.write(f"account {args.username.strip().lower()} ({args.role}) created\n")
    else:
        accounts.set_password(args.username, password, actor)
        out.write(f"password of {args.username} set; its sessions are signed out\n")
    return 0


def _read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (12+ characters): ")
    if getpass.getpass("Again: ") != first:
        raise CliError("the two passwords differ; nothing was changed")
    return first


class CliError(RuntimeError):
    pass


def inbox_report_command(args, out: IO[str]) -> int:
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
                  f"{row['attempts']:<6}{_fmt_time(row['created_at']):<22}{_fmt_time(when):<22}"
                  f"{row['last_error'] or '-'}{' (case ' + row['case_id'] + ')' if row['case_id'] else ''}\n")
    counts = box.counts()
    out.write(f"{counts['waiting']} waiting, {counts['sent']} sent, {counts['failed']} failed\n")
    return 0


COMMANDS = {"cases": cases_command, "audit": audit_command, "review": review_command, "train": train_command,
            "eval": eval_command, "keys": keys_command, "retention": retention_command, "forget": forget_command,
            "worker": worker_command, "console": console_command, "inbox-report": inbox_report_command,
            "outbox": outbox_command}


def _use_dev_keyring_if_present() -> None:
    """Beside `make run` the staff CLI finds the development keyring it created;
    anywhere else the key must come from the environment."""
    from triage import keys
    from triage.model import PROJECT_ROOT

    dev = PROJECT_ROOT / "var" / "keys" / "dev-master.json"
    if not os.environ.get(keys.ENV_FILE) and not os.environ.get(keys.ENV_KEY) and dev.exists():
        os.environ[keys.ENV_FILE] = str(dev)
        print(f"triage: using the development keyring {dev}", file=sys.stderr)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="triage", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_classify = sub.add_parser("classify", help="classify messages, one per line")
    p_classify.add_argument("file", nargs="?", help="input file (default: standard input)")
    p_classify.add_argument("--model", help="model archive (default: the one `make run` serves)")
    p_classify.add_argument("--explain", action="store_true", help="add reasons and the model's own intent")
    p_clinic = sub.add_parser("clinic", help="clinic.yml tools")
    p_clinic.add_argument("action", choices=["check"])

    from triage.cases import OUTCOMES

    p_cases = sub.add_parser("cases", help="handoff cases")
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

    from triage.review import SOURCES

    p_review = sub.add_parser("review", help="admins: de-identified review queue and labelling")
    review_sub = p_review.add_subparsers(dest="action", required=True)
    p_rlist = review_sub.add_parser("list", help="messages worth a look (low confidence, fallback, staff corrections)")
    p_rlist.add_argument("--source", choices=SOURCES)
    p_rlist.add_argument("--language", choices=[*SUPPORTED, "other"])
    p_rlist.add_argument("--limit", type=int, default=100)
    p_rlist.add_argument("--all", action="store_true", help="include labelled and dismissed items")
    p_rlist.add_argument("--json", action="store_true", help="one JSON object per line")
    p_label = review_sub.add_parser("label", help="add an item to the training data under INTENT (audited)")
    p_label.add_argument("item_id", nargs="?")
    p_label.add_argument("intent", nargs="?")
    p_label.add_argument("--csv", help="batch: a CSV file of id,intent[,language]; all rows or none")
    p_label.add_argument("--language", choices=list(SUPPORTED), help="override the detected language")
    p_label.add_argument("--admin", required=True)
    p_label.add_argument("--data-dir", help="training data directory (default: data/)")
    p_dismiss = review_sub.add_parser("dismiss", help="take an item off the queue without labelling (audited)")
    p_dismiss.add_argument("item_id")
    p_dismiss.add_argument("--admin", required=True)

    from triage.training import MARGIN

    p_train = sub.add_parser("train", help="retrain; the new model goes live only if it passes the safety gate")
    p_train.add_argument("--force", action="store_true", help="activate even if the gate refuses (audited; needs --admin)")
    p_train.add_argument("--admin", help="who is training (recorded in the audit log)")
    p_train.add_argument("--margin", type=float, default=MARGIN,
                         help=f"how much worse than the serving model a figure may be (default {MARGIN})")
    p_train.add_argument("--if-needed", action="store_true", help="do nothing if the data did not change (make run)")
    p_train.add_argument("--project", help="project directory with config.yml, domain.yml, data/ (default: this one)")

    p_eval = sub.add_parser("eval", help="evaluation report in reports/, compared with Rasa's default pipeline")
    p_eval.add_argument("--model", help="model archive (default: the serving one)")
    p_eval.add_argument("--reports", default="reports", help="output directory (default reports/)")
    p_eval.add_argument("--no-baseline", action="store_true", help="skip training Rasa's default pipeline")
    p_eval.add_argument("--baseline-epochs", type=int,
                        help="fewer epochs for the default pipeline (quick runs; the report says so)")

    p_audit = sub.add_parser("audit", help="audit log")
    audit_sub = p_audit.add_subparsers(dest="action", required=True)
    audit_sub.add_parser("verify", help="check the chain, its counter and the latest signed checkpoint; "
                                        "names the first bad entry; checkpoints an intact log")
    p_export = audit_sub.add_parser("export", help="decrypted compliance export (audited)")
    p_export.add_argument("--since", help="ISO time, inclusive")
    p_export.add_argument("--until", help="ISO time, exclusive")
    p_export.add_argument("--staff", required=True)
    p_export.add_argument("--output", help="file to write (mode 600); default standard output")

    p_keys = sub.add_parser("keys", help="master keyring")
    keys_sub = p_keys.add_subparsers(dest="action", required=True)
    p_init = keys_sub.add_parser("init", help="create a keyring file")
    p_init.add_argument("--file")
    p_rotate = keys_sub.add_parser("rotate", help="add a master key and re-wrap every data key")
    p_rotate.add_argument("--staff")

    p_retention = sub.add_parser("retention", help="delete patient text past its retention (audited)")
    retention_sub = p_retention.add_subparsers(dest="action", required=True)
    p_purge = retention_sub.add_parser("purge", help="delete old conversations and resolved cases' message text")
    p_purge.add_argument("--days", type=int, help="conversation retention in days (default: clinic.yml, 30)")
    p_purge.add_argument("--case-days", type=int, help="case message retention in days (default: clinic.yml, 30)")
    p_purge.add_argument("--staff", required=True)

    p_forget = sub.add_parser("forget", help="delete one patient's conversation and case text (audited)")
    p_forget.add_argument("--channel", required=True, help="rest, facebook, x ...")
    p_forget.add_argument("--sender", required=True, help="the channel's user id")
    p_forget.add_argument("--staff", required=True)

    from triage.console.accounts import ROLES

    p_console = sub.add_parser("console", help="the staff web console and its accounts")
    console_sub = p_console.add_subparsers(dest="action", required=True)
    p_serve = console_sub.add_parser("serve", help="serve the console (default http://127.0.0.1:5080)")
    p_serve.add_argument("--host", help="default TRIAGE_CONSOLE_HOST or 127.0.0.1")
    p_serve.add_argument("--port", type=int, help="default TRIAGE_CONSOLE_PORT or 5080")
    p_adduser = console_sub.add_parser("add-user", help="create an account (audited)")
    p_adduser.add_argument("username")
    p_adduser.add_argument("--role", required=True, choices=ROLES)
    p_setpw = console_sub.add_parser("set-password", help="set an account's password; signs it out everywhere")
    p_setpw.add_argument("username")
    for p in (p_adduser, p_setpw):
        p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    console_sub.add_parser("users", help="list accounts")
    for name in ("disable", "enable"):
        console_sub.add_parser(name, help=f"{name} an account").add_argument("username")
    p_reset_totp = console_sub.add_parser("reset-totp", help="remove an account's second factor (audited); "
                                                             "it enrols again at its next sign-in")
    p_reset_totp.add_argument("username")
    p_reset_totp.add_argument("--admin", required=True, help="the admin account doing this")

    p_inbox = sub.add_parser("inbox-report", help="inbox figures (traffic, response times, SLA, backlog) as CSV or "
                                                  "JSON; no message text; audited")
    p_inbox.add_argument("--since", help="first day, YYYY-MM-DD in the clinic's time zone (default: 28 days ago)")
    p_inbox.add_argument("--until", help="last day, YYYY-MM-DD, inclusive (default: now)")
    p_inbox.add_argument("--format", choices=("csv", "json"), default="csv")
    p_inbox.add_argument("--output", help="write to this file (mode 600) instead of standard output")
    p_inbox.add_argument("--staff", help="who exports (recorded in the audit log)")

    p_outbox = sub.add_parser("outbox", help="messages to patients: waiting, sent, failed and why (no text)")
    outbox_sub = p_outbox.add_subparsers(dest="action", required=True)
    p_olist = outbox_sub.add_parser("list", help="waiting first (most urgent first), then the latest")
    p_olist.add_argument("--state", action="append", choices=("waiting", "sent", "failed"),
                         help="only these states (repeatable)")
    p_olist.add_argument("--limit", type=int, default=100)

    p_worker = sub.add_parser("worker", help="run the handoff worker")
    p_worker.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args(argv)

    _use_dev_keyring_if_present()
    from triage.cases import CaseError
    from triage.clinic import ClinicConfigError
    from triage.console.accounts import AccountError
    from triage.keys import DecryptionError, KeyStoreError
    from triage.model import ModelNotFound
    from triage.review import ReviewError
    from triage.training import TrainingError

    try:
        if args.command == "classify":
            if args.file:
                with open(args.file, encoding="utf-8", errors="replace") as handle:
                    return classify(handle, sys.stdout, sys.stderr, args.model, args.explain)
            return classify(sys.stdin, sys.stdout, sys.stderr, args.model, args.explain)
        if args.command == "clinic":
            return clinic_check(sys.stdout)
        return COMMANDS[args.command](args, sys.stdout)
    except (ModelNotFound, ClinicConfigError, FileNotFoundError, CaseError, KeyStoreError, DecryptionError,
            CliError, ReviewError, TrainingError, AccountError) as exc:
        print(f"triage: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
