"""Background worker: delivers queued staff notices (and announces open cases no
configured webhook has had a notice about), re-notifies urgent cases
nobody claimed in time, resumes conversations (after a resolve, or after the
configured idle time), records escalations spooled while the database was
down (triage/spool.py), and alerts staff to a surge of messages (triage/surge.py).
`make run` starts it beside the two servers."""
from __future__ import annotations

import logging
import os
import time
from typing import Dict, Optional

from triage import clinic as clinic_config, handback, handoff, services, spool, surge
from triage.services import Services

logger = logging.getLogger(__name__)


def run_once(svc: Services) -> Dict[str, int]:
    # Escalations spooled while the database was down come first: they are late already.
    recorded = spool.drain(lambda entry: handoff.record_spooled(svc, entry), keys=svc.keys,
                           give_up=lambda spool_id: spool_failed_notice(svc, spool_id))
    # Open cases no staff webhook has heard of (opened before TRIAGE_STAFF_WEBHOOKS was set):
    # queued before delivering, so they go out in this tick.
    announced = svc.notifier.announce_unnotified()
    done = {"spooled_recorded": recorded, "announced": announced, "delivered": svc.notifier.deliver_due(),
            "renotified": 0, "resumed": 0}
    for case in svc.cases.overdue_urgent():
        svc.notifier.enqueue(case, "case_overdue")
        svc.cases.mark_renotified(case["id"])
        svc.audit.append("renotified", case_id=case["id"], channel=case["channel"], outcome="sla_passed")
        done["renotified"] += 1
    for case in svc.cases.idle_cases():
        svc.cases.request_resume(case["id"], "idle")
    for case in svc.cases.pending_resumes():
        if handback.resume(svc, case, case.get("resume_reason") or "resolved"):
            done["resumed"] += 1
    done["surge_alerts"] = surge_check(svc)
    if done["renotified"] or done["surge_alerts"]:
        # send the reminders and alerts now rather than on the next tick
        done["delivered"] += svc.notifier.deliver_due()
    return done


def surge_check(svc: Services) -> int:
    """triage/surge.py, with clinic.yml's settings; a failure here must not stop the tick's other work."""
    try:
        return surge.check(svc, surge.SurgeSettings.from_clinic(clinic_config.current()))
    except Exception as exc:  # noqa: BLE001
        logger.error("surge check failed: %s", type(exc).__name__)
        return 0


def spool_failed_notice(svc: Services, spool_id: str) -> None:
    """An urgent staff notice for a spooled escalation that could not be recorded: its
    spool id only (the sealed file, ``<id>.failed`` in the spool folder), never its text."""
    from triage.cases import URGENT
    from triage.db import utcnow

    svc.notifier.enqueue({"id": spool_id, "priority": URGENT, "channel": "spool", "decision": "unknown",
                          "sla_due_at": utcnow()}, "spool_failed")


def run_forever(svc: Optional[Services] = None, interval: Optional[float] = None) -> None:
    svc = svc or services.default()
    interval = interval or float(os.environ.get("TRIAGE_WORKER_INTERVAL", "2"))
    logger.info("worker started: %d staff webhook(s)", len(svc.notifier.targets))
    while True:
        try:
            run_once(svc)
        except Exception as exc:  # noqa: BLE001 - keep serving; the next tick retries
            logger.error("worker tick failed: %s", type(exc).__name__)
        time.sleep(interval)
