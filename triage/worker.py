"""Background worker: delivers queued staff notices, re-notifies urgent cases
nobody claimed in time, resumes conversations (after a resolve, or after the
configured idle time), and records escalations spooled while the database was
down (triage/spool.py). `make run` starts it beside the two servers."""
from __future__ import annotations

import logging
import os
import time
from typing import Dict, Optional

from triage import handoff, spool
from triage.handoff import Services

logger = logging.getLogger(__name__)


def run_once(svc: Services) -> Dict[str, int]:
    # Escalations spooled while the database was down come first: they are late already.
    recorded = spool.drain(lambda e: handoff.record_escalation(svc, e["sender_id"], e["channel"], e["triage"],
                                                               e["text"]), keys=svc.keys)
    done = {"spooled_recorded": recorded, "delivered": svc.notifier.deliver_due(), "renotified": 0, "resumed": 0}
    for case in svc.cases.overdue_urgent():
        svc.notifier.enqueue(case, "case_overdue")
        svc.cases.mark_renotified(case["id"])
        svc.audit.append("renotified", case_id=case["id"], channel=case["channel"], outcome="sla_passed")
        done["renotified"] += 1
    for case in svc.cases.idle_cases():
        svc.cases.request_resume(case["id"], "idle")
    for case in svc.cases.pending_resumes():
        if handoff.resume(svc, case, case.get("resume_reason") or "resolved"):
            done["resumed"] += 1
    if done["renotified"]:
        # send the reminders now rather than on the next tick
        done["delivered"] += svc.notifier.deliver_due()
    return done


def run_forever(svc: Optional[Services] = None, interval: Optional[float] = None) -> None:
    svc = svc or handoff.services()
    interval = interval or float(os.environ.get("TRIAGE_WORKER_INTERVAL", "2"))
    logger.info("worker started: %d staff webhook(s)", len(svc.notifier.targets))
    while True:
        try:
            run_once(svc)
        except Exception as exc:  # noqa: BLE001 - keep serving; the next tick retries
            logger.error("worker tick failed: %s", type(exc).__name__)
        time.sleep(interval)
