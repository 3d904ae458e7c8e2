"""`triage train` (retraining behind the held-out safety gate) and `triage eval` (the report in reports/).

Named train_eval, not training, so that it is never mistaken for triage.training, which it calls."""
from __future__ import annotations

from typing import IO

from triage.cli.common import CliError


def add_parser(sub) -> None:
    from triage.training import MARGIN

    p_train = sub.add_parser("train", help="retrain; the new model goes live only if it passes the safety gate")
    p_train.set_defaults(func=train_command)
    p_train.add_argument("--force", action="store_true", help="activate even if the gate refuses (audited; needs --admin)")
    p_train.add_argument("--admin", help="who is training (recorded in the audit log)")
    p_train.add_argument("--margin", type=float, default=MARGIN,
                         help=f"how much worse than the serving model a figure may be (default {MARGIN})")
    p_train.add_argument("--if-needed", action="store_true", help="do nothing if the data did not change (make run)")
    p_train.add_argument("--project", help="project directory with config.yml, domain.yml, data/ (default: this one)")

    p_eval = sub.add_parser("eval", help="evaluation report in reports/, compared with Rasa's default pipeline")
    p_eval.set_defaults(func=eval_command)
    p_eval.add_argument("--model", help="model archive (default: the serving one)")
    p_eval.add_argument("--reports", default="reports", help="output directory (default reports/)")
    p_eval.add_argument("--no-baseline", action="store_true", help="skip training Rasa's default pipeline")
    p_eval.add_argument("--baseline-epochs", type=int,
                        help="fewer epochs for the default pipeline (quick runs; the report says so)")


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
