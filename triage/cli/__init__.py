"""The `triage` command line: a package with one module per command group.

Each module in COMMANDS has `add_parser(sub)`, which declares its sub-commands and sets `func`
(called as `func(args, out)`, returning the exit code); main() is a loop over them. A new group is a
new module here (triage/cli/models.py is expected next) and one line in COMMANDS. Helpers shared by
the groups (CliError, time columns, passwords, the development keyring, the line reader of
`classify`) live in common.py; use them from there rather than writing another copy. A command
reports a mistake by raising CliError (or one of the error types main() catches): one line on
stderr and exit code 1, never a traceback.

Imports of the modules a command works with stay inside the command functions: importing Rasa and
TensorFlow takes seconds, and `triage --help` or `triage cases list` should not wait for them.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from triage.cli import audit, cases, classify, console, keys, models, reports, retention, review, train_eval, worker
from triage.cli.common import CliError, use_dev_keyring_if_present

USAGE = """`triage` command line.

    triage classify [FILE]                 one message per line in, one JSON object per line out
    triage clinic check                    validate clinic.yml
    triage cases list|show|claim|reply|resolve   staff work on cases (--staff ID is recorded)
    triage review list|label|dismiss      admins: de-identified review queue, labelling into data/
    triage train [--force --admin NAME]    retrain behind the held-out safety gate
    triage models list|activate|rollback   candidates and their gate verdicts; put one live, or go back (admins)
    triage eval                            evaluation report in reports/ (vs Rasa's default pipeline)
    triage audit verify|export             the audit chain, and a decrypted compliance export
    triage keys init|rotate                the master keyring
    triage retention purge / triage forget delete patient text (retention, "forget me")
    triage console serve|add-user|...      the staff web console and its accounts
    triage worker                          deliver staff notices, re-notify, resume conversations, surge alerts
    triage report --staff ID               traffic, response times, SLA and backlog as CSV or JSON (audited)
    triage outbox list                     messages to patients: waiting, sent, failed and why (no text)
"""

COMMANDS = (classify, cases, review, train_eval, models, audit, keys, retention, console, reports, worker)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="triage", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMANDS:
        group.add_parser(sub)
    args = parser.parse_args(argv)

    use_dev_keyring_if_present()
    from triage.cases import CaseError
    from triage.clinic import ClinicConfigError
    from triage.console.accounts import AccountError
    from triage.keys import DecryptionError, KeyStoreError
    from triage.model import ModelNotFound
    from triage.review import ReviewError
    from triage.training import TrainingError

    try:
        return args.func(args, sys.stdout)
    except (ModelNotFound, ClinicConfigError, FileNotFoundError, CaseError, KeyStoreError, DecryptionError,
            CliError, ReviewError, TrainingError, AccountError) as exc:
        print(f"triage: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
