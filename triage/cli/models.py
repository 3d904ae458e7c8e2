"""`triage models list|activate NAME|rollback`: the console's model page from a terminal (triage/deploy.py).

Activating and rolling back are audited under the admin's name, as `triage train --admin` is, and
reload every running Rasa server (TRIAGE_RASA_URLS, else TRIAGE_RASA_URL)."""
from __future__ import annotations

import datetime as dt
from typing import IO

from triage.cli.common import CliError


def add_parser(sub) -> None:
    p_models = sub.add_parser("models", help="serving model, candidates and their gate verdicts; activate, roll back")
    p_models.set_defaults(func=models_command)
    models_sub = p_models.add_subparsers(dest="action", required=True)
    p_list = models_sub.add_parser("list", help="the serving and previous model, candidates, training jobs")
    p_activate = models_sub.add_parser("activate", help="put a candidate the safety gate accepted live (audited)")
    p_activate.add_argument("name", help="the candidate, e.g. triage-0123456789ab")
    p_rollback = models_sub.add_parser("rollback", help="go back to the previous model (audited)")
    for p in (p_list, p_activate, p_rollback):
        p.add_argument("--project", help="project directory with models/ (default: TRIAGE_PROJECT_DIR, else this one)")
    for p in (p_activate, p_rollback):
        p.add_argument("--admin", required=True, help="who does it (recorded in the audit log)")


def models_command(args, out: IO[str]) -> int:
    return {"list": list_command, "activate": activate_command, "rollback": rollback_command}[args.action](args, out)


def _deployment(args):
    from pathlib import Path

    from triage import services
    from triage.deploy import Deployment

    return Deployment(services.default().audit, Path(args.project) if args.project else None)


def list_command(args, out: IO[str]) -> int:
    deployment = _deployment(args)
    out.write(f"serving:  {deployment.serving() or '-'}\nprevious: {deployment.previous() or '-'}\n")
    rows = deployment.candidates()
    out.write("\ncandidates (newest first):\n" if rows else "\nno candidates (train from the console or with `triage train`)\n")
    for row in rows:
        when = dt.datetime.fromtimestamp(row["created_at"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        state = "serving" if row["serving"] else "can be activated" if row["activatable"] else "-"
        out.write(f"  {row['name']}  {row['verdict']:<8}  {when}  problems: {row['problems']:<3} {state}\n")
    jobs = deployment.jobs(limit=5)
    if jobs:
        out.write("\ntraining jobs (newest first):\n")
        for job in jobs:
            out.write(f"  #{job['id']:<4} {job['state']:<9} {job['actor']:<20} {job['model'] or '-'}\n")
    return 0


def _print_reload(result, out: IO[str]) -> int:
    for url, outcome in result.servers.items():
        out.write(f"  {url}: {'loaded' if outcome == 'ok' else 'NOT loaded (' + outcome + ')'}\n")
    if result.failed:
        out.write("A server that did not load it keeps the model it had; restart it (`make run` reads models/.current).\n")
        return 1
    return 0


def activate_command(args, out: IO[str]) -> int:
    from triage.deploy import DeployError

    try:
        result = _deployment(args).activate(args.name, f"admin:{args.admin}")
    except DeployError as exc:
        raise CliError(str(exc)) from exc
    out.write(f"==> {result.model} is the serving model\n")
    return _print_reload(result, out)


def rollback_command(args, out: IO[str]) -> int:
    from triage.deploy import DeployError

    try:
        result = _deployment(args).rollback(f"admin:{args.admin}")
    except DeployError as exc:
        raise CliError(str(exc)) from exc
    out.write(f"==> Rolled back: {result.model} is the serving model\n")
    return _print_reload(result, out)
