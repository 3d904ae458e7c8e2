"""`triage worker [--once]`: the handoff worker (staff notices, re-notification, resume, the spool, surge alerts)."""
from __future__ import annotations

import json
from typing import IO


def add_parser(sub) -> None:
    p_worker = sub.add_parser("worker", help="run the handoff worker")
    p_worker.set_defaults(func=worker_command)
    p_worker.add_argument("--once", action="store_true", help="one pass, then exit")


def worker_command(args, out: IO[str]) -> int:
    import logging

    from triage import services, worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    if args.once:
        out.write(json.dumps(worker.run_once(services.default())) + "\n")
        return 0
    worker.run_forever()
    return 0
