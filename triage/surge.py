"""Surge alerts: staff hear when the inbox suddenly fills, or fills with crises.

The worker checks, every tick, the messages of the last hour (db.message_counts)
against the usual figures for that hour of the week: the same hour 1 to
``baseline_weeks`` weeks back, averaged (a week with no messages counts as 0, so a
new installation alerts on any burst above ``min_messages``). An alert goes out when,
with at least ``min_messages`` messages in the hour,
- the messages exceed ``factor`` times the usual number, or
- the share of crisis, or of private, decisions is ``share_jump`` (absolute) above its
  usual share.
Settings in clinic.yml `surge:`. At most one alert per ``cooldown_minutes``; it goes
to the staff webhooks through the notifier's outbox, is audited, and the console
shows a banner until the cooldown ends. Figures only: no text, no case, no sender.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.engine import Engine

from triage import DECISION_CRISIS, DECISION_PRIVATE, db
from triage.db import aware, utcnow

logger = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=1)
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class SurgeSettings:
    factor: float = 3.0
    min_messages: int = 20
    cooldown_minutes: int = 60
    share_jump: float = 0.25
    baseline_weeks: int = 4

    @classmethod
    def from_clinic(cls, clinic) -> "SurgeSettings":
        values = clinic.get("surge", default={}) or {}
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"clinic.yml surge: unknown setting(s) {sorted(unknown)}")
        settings = cls(**{key: type(getattr(cls, key))(value) for key, value in values.items()})
        if settings.factor <= 0 or settings.min_messages < 1 or settings.cooldown_minutes < 1 \
                or not 0 < settings.share_jump <= 1 or settings.baseline_weeks < 1:
            raise ValueError("clinic.yml surge: factor > 0, min_messages >= 1, cooldown_minutes >= 1, "
                             "0 < share_jump <= 1 and baseline_weeks >= 1")
        return settings


def _by_decision(engine: Engine, ranges: List[tuple]) -> Dict[str, int]:
    column = db.message_counts.c.ts
    with db.reading(engine) as connection:
        rows = connection.execute(select(db.message_counts.c.decision, func.count()).where(
            or_(*[and_(column >= start, column < end) for start, end in ranges]))
            .group_by(db.message_counts.c.decision)).all()
    return {decision: count for decision, count in rows}


def figures(engine: Engine, settings: SurgeSettings, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """The last hour against the usual figures for this hour of the week."""
    now = now or utcnow()
    current = _by_decision(engine, [(now - WINDOW, now)])
    weeks = settings.baseline_weeks
    usual = _by_decision(engine, [(now - WINDOW - k * WEEK, now - k * WEEK) for k in range(1, weeks + 1)])
    messages, usual_total = sum(current.values()), sum(usual.values())
    result = {"messages": messages, "usual_messages": round(usual_total / weeks, 2)}
    for decision in (DECISION_CRISIS, DECISION_PRIVATE):
        result[f"{decision}"] = current.get(decision, 0)
        result[f"{decision}_share"] = round(current.get(decision, 0) / messages, 3) if messages else 0.0
        result[f"usual_{decision}_share"] = round(usual.get(decision, 0) / usual_total, 3) if usual_total else 0.0
    return result


def reasons(found: Dict[str, Any], settings: SurgeSettings) -> List[str]:
    if found["messages"] < settings.min_messages:
        return []
    why = ["volume"] if found["messages"] > settings.factor * found["usual_messages"] else []
    for decision in (DECISION_CRISIS, DECISION_PRIVATE):
        if found[f"{decision}_share"] - found[f"usual_{decision}_share"] >= settings.share_jump:
            why.append(f"{decision}_share")
    return why


def last_alert(engine: Engine) -> Optional[Dict[str, Any]]:
    with db.reading(engine) as connection:
        row = connection.execute(select(db.surge_alerts).order_by(db.surge_alerts.c.ts.desc()).limit(1)).first()
    if row is None:
        return None
    return {"ts": aware(row.ts), "reasons": row.reasons.split(","), "figures": json.loads(row.figures)}


def recent_alert(engine: Engine, settings: SurgeSettings, now: Optional[dt.datetime] = None) -> Optional[Dict[str, Any]]:
    """The last alert while its cooldown lasts: the console's banner."""
    alert = last_alert(engine)
    now = now or utcnow()
    if alert and now - alert["ts"] < dt.timedelta(minutes=settings.cooldown_minutes):
        return alert
    return None


def summary(found: Dict[str, Any], why: List[str]) -> str:
    parts = [f"{found['messages']} messages in the last hour (usual {found['usual_messages']:g})"]
    for decision in (DECISION_CRISIS, DECISION_PRIVATE):
        parts.append(f"{decision} {found[f'{decision}_share']:.0%} (usual {found[f'usual_{decision}_share']:.0%})")
    return f"⚠️ Inbox surge ({', '.join(why)}): " + "; ".join(parts)


def check(svc, settings: SurgeSettings, now: Optional[dt.datetime] = None) -> int:
    """One surge check (the worker's tick): 1 when an alert was queued, else 0."""
    now = now or utcnow()
    engine = svc.audit.engine
    if recent_alert(engine, settings, now):
        return 0
    found = figures(engine, settings, now)
    why = reasons(found, settings)
    if not why:
        return 0
    with engine.begin() as connection:
        connection.execute(insert(db.surge_alerts).values(ts=now, reasons=",".join(why), figures=json.dumps(found)))
    console = os.environ.get("TRIAGE_CONSOLE_URL")
    body = {"type": "triage.surge", "reasons": why, "figures": found, "at": now.isoformat(),
            "summary": summary(found, why), **({"url": console.rstrip("/") + "/reports"} if console else {})}
    svc.notifier.enqueue_body("surge_alert", body)
    svc.audit.append("surge_alert", outcome=",".join(why), details=found)
    logger.warning("inbox surge: %s", summary(found, why))
    return 1
