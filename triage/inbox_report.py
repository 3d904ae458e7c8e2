"""Inbox reports: traffic, response times, SLA compliance and backlog, from metadata only.

The figures come from db.message_counts (decision, channel, language, times: one row
per message the bot handled, triage/counts.py) and from the cases' metadata columns
(times, priority, channel, language, status); staff replies are found by author and
time, never opened. So no report can contain message text, an intent or a sender.

- traffic per day and per ISO week (Monday first, in clinic.yml's time zone), by channel
  and language: messages in, their decisions (answer/private/crisis), cases opened;
- time to the bot's reply (arrival to reply built, in the Rasa server);
- per priority: time to claim (a case resolved without a claim counts its resolve),
  to the first staff reply and to resolve, each as median and p90 (nearest rank);
- SLA compliance per priority: the share of cases claimed by their SLA due time
  (created + escalation.sla_minutes, reset when a case became urgent), over the cases
  already decided (claimed, or unclaimed past their due time); the missed ones by id;
- the open backlog (open and claimed cases) by age, per priority;
- charts drawn here as inline SVG (no script, no outside asset: the console's CSP).

`triage inbox-report` (CSV or JSON) and the console's /reports page (admins) show the
same figures; opening or exporting one is audited by the caller.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import statistics
from collections import defaultdict
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from triage import db
from triage.cases import CLAIMED, NORMAL, OPEN, URGENT
from triage.counts import DECISIONS
from triage.db import aware

PRIORITIES = (URGENT, NORMAL)
DEFAULT_DAYS = 28
# Upper bounds of the backlog's age groups, in hours; the last group is everything older.
AGE_GROUPS = ((1, "<1h"), (4, "1-4h"), (24, "4-24h"), (72, "1-3d"), (None, ">3d"))


def median(values: Sequence[float]) -> Optional[float]:
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> Optional[float]:
    """Nearest rank: the smallest value with at least 90 % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def _summary(values: Sequence[float]) -> Dict[str, Any]:
    return {"n": len(values), "median_s": median(values), "p90_s": p90(values)}


def _seconds(later: Optional[dt.datetime], earlier: dt.datetime) -> Optional[float]:
    return None if later is None else (aware(later) - earlier).total_seconds()


def _periods(moment: dt.datetime, tz: ZoneInfo) -> Tuple[Tuple[str, str], Tuple[str, str]]:
    day = aware(moment).astimezone(tz).date()
    return ("day", day.isoformat()), ("week", (day - dt.timedelta(days=day.weekday())).isoformat())


def build(engine: Engine, tz: ZoneInfo, since: dt.datetime, until: dt.datetime,
          now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """Every figure of the report for messages and cases from ``since`` to ``until``."""
    now = now or db.utcnow()
    with db.reading(engine) as connection:
        messages = connection.execute(select(
            db.message_counts.c.ts, db.message_counts.c.channel, db.message_counts.c.language,
            db.message_counts.c.decision, db.message_counts.c.reply_ms).where(
            db.message_counts.c.ts >= since, db.message_counts.c.ts < until)).all()
        cases = connection.execute(select(
            db.cases.c.id, db.cases.c.channel, db.cases.c.language, db.cases.c.priority, db.cases.c.status,
            db.cases.c.created_at, db.cases.c.sla_due_at, db.cases.c.claimed_at, db.cases.c.resolved_at).where(
            db.cases.c.created_at >= since, db.cases.c.created_at < until)).all()
        first_staff = dict(connection.execute(select(
            db.case_messages.c.case_id, func.min(db.case_messages.c.ts)).join(
            db.cases, db.cases.c.id == db.case_messages.c.case_id).where(
            db.case_messages.c.author.like("staff:%"), db.cases.c.created_at >= since,
            db.cases.c.created_at < until).group_by(db.case_messages.c.case_id)).all())
        backlog = connection.execute(select(db.cases.c.priority, db.cases.c.created_at).where(
            db.cases.c.status.in_([OPEN, CLAIMED]))).all()
    return {
        "range": {"since": since.isoformat(), "until": until.isoformat(), "timezone": str(tz),
                  "generated_at": now.isoformat()},
        "traffic": _traffic(messages, cases, tz),
        "first_reply": _summary([m.reply_ms / 1000 for m in messages if m.reply_ms is not None]),
        "cases": {priority: _case_times([c for c in cases if c.priority == priority], first_staff, now)
                  for priority in PRIORITIES},
        "backlog": _backlog(backlog, now),
    }


def _traffic(messages: Iterable[Any], cases: Iterable[Any], tz: ZoneInfo) -> List[Dict[str, Any]]:
    rows: Dict[Tuple[str, str, str, str], Dict[str, int]] = defaultdict(
        lambda: {"messages": 0, **{d: 0 for d in DECISIONS}, "cases_opened": 0})
    for message in messages:
        for period, start in _periods(message.ts, tz):
            row = rows[(period, start, message.channel, message.language)]
            row["messages"] += 1
            row[message.decision] = row.get(message.decision, 0) + 1
    for case in cases:
        for period, start in _periods(case.created_at, tz):
            rows[(period, start, case.channel, case.language or "-")]["cases_opened"] += 1
    return [{"period": p, "start": s, "channel": c, "language": l, **figures}
            for (p, s, c, l), figures in sorted(rows.items())]


def _case_times(cases: Sequence[Any], first_staff: Mapping[str, Any], now: dt.datetime) -> Dict[str, Any]:
    claim, reply, resolve, met, missed = [], [], [], 0, []
    for case in cases:
        created, due = aware(case.created_at), aware(case.sla_due_at)
        claimed = aware(case.claimed_at or case.resolved_at)  # resolving an unclaimed case claims it
        for values, later in ((claim, claimed), (reply, first_staff.get(case.id)), (resolve, case.resolved_at)):
            seconds = _seconds(later, created)
            if seconds is not None:
                values.append(seconds)
        if claimed is not None and claimed <= due:
            met += 1
        elif claimed is not None or now > due:
            missed.append(case.id)
    decided = met + len(missed)
    return {"cases": len(cases), "claim": _summary(claim), "first_staff_reply": _summary(reply),
            "resolve": _summary(resolve),
            "sla": {"decided": decided, "met": met, "compliance": met / decided if decided else None,
                    "missed": sorted(missed)}}


def _backlog(rows: Iterable[Any], now: dt.datetime) -> List[Dict[str, Any]]:
    groups = {label: {URGENT: 0, NORMAL: 0} for _, label in AGE_GROUPS}
    for row in rows:
        hours = (now - aware(row.created_at)).total_seconds() / 3600
        label = next(label for bound, label in AGE_GROUPS if bound is None or hours < bound)
        groups[label][row.priority if row.priority in PRIORITIES else NORMAL] += 1
    return [{"age": label, **counts} for label, counts in groups.items()]


# -- exports -----------------------------------------------------------------------

CSV_FIELDS = ("section", "period", "start", "channel", "language", "priority", "metric", "value")


def csv_rows(report: Mapping[str, Any]) -> Iterable[Dict[str, Any]]:
    """The report as one long table: one figure per row."""
    for row in report["traffic"]:
        for metric in ("messages", *DECISIONS, "cases_opened"):
            yield {"section": "traffic", "period": row["period"], "start": row["start"], "channel": row["channel"],
                   "language": row["language"], "metric": metric, "value": row[metric]}
    for metric, value in report["first_reply"].items():
        yield {"section": "first_reply", "metric": metric, "value": value}
    for priority, figures in report["cases"].items():
        yield {"section": "cases", "priority": priority, "metric": "cases", "value": figures["cases"]}
        for stage in ("claim", "first_staff_reply", "resolve"):
            for metric, value in figures[stage].items():
                yield {"section": "cases", "priority": priority, "metric": f"{stage}_{metric}", "value": value}
        sla = figures["sla"]
        for metric in ("decided", "met", "compliance"):
            yield {"section": "sla", "priority": priority, "metric": metric, "value": sla[metric]}
        for case_id in sla["missed"]:
            yield {"section": "sla", "priority": priority, "metric": "missed_case", "value": case_id}
    for row in report["backlog"]:
        for priority in PRIORITIES:
            yield {"section": "backlog", "priority": priority, "metric": row["age"], "value": row[priority]}


def to_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in CSV_FIELDS})
    return out.getvalue()


def to_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True)


def daily_totals(report: Mapping[str, Any]) -> List[Tuple[str, Dict[str, int]]]:
    totals: Dict[str, Dict[str, int]] = defaultdict(lambda: {d: 0 for d in DECISIONS})
    for row in report["traffic"]:
        if row["period"] == "day":
            for decision in DECISIONS:
                totals[row["start"]][decision] += row[decision]
    return sorted(totals.items())


# -- charts: inline SVG, drawn on the server ---------------------------------------------

COLOURS = {"answer": "#4a7fb5", "private": "#d49a2a", "crisis": "#c0392b", URGENT: "#c0392b", NORMAL: "#4a7fb5"}


def bar_chart(title: str, groups: Sequence[Tuple[str, Mapping[str, float]]], series: Sequence[str],
              width: int = 720, height: int = 220) -> Markup:
    """Stacked bars, one per group, with a legend. Labels are escaped; no script, no style attribute."""
    left, bottom, top = 40, 40, 24
    plot_h = height - bottom - top
    peak = max([sum(values.get(s, 0) for s in series) for _, values in groups] + [1])
    step = (width - left - 10) / max(len(groups), 1)
    bar = max(2.0, step * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}"><title>{escape(title)}</title>',
             f'<text x="{left}" y="14" font-size="12">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{peak:g}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>']
    label_every = max(1, math.ceil(len(groups) / 12))
    for index, (label, values) in enumerate(groups):
        x, y = left + index * step + (step - bar) / 2, top + plot_h
        for name in series:
            h = plot_h * values.get(name, 0) / peak
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{COLOURS.get(name, "#777")}"><title>{escape(label)} {escape(name)}: '
                             f'{values.get(name, 0):g}</title></rect>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
                         f'text-anchor="middle">{escape(label)}</text>')
    for index, name in enumerate(series):
        x = left + index * 90
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{COLOURS.get(name, "#777")}"/>'
                     f'<text x="{x + 14}" y="{height - 5}" font-size="10">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def charts(report: Mapping[str, Any]) -> List[Markup]:
    days = [(start[5:], values) for start, values in daily_totals(report)]
    backlog = [(row["age"], row) for row in report["backlog"]]
    return [bar_chart("Messages per day by decision", days, DECISIONS),
            bar_chart("Open backlog by age", backlog, PRIORITIES, height=200)]


def date_range(since: Optional[str], until: Optional[str], tz: ZoneInfo,
               now: Optional[dt.datetime] = None) -> Tuple[dt.datetime, dt.datetime]:
    """Dates (YYYY-MM-DD, clinic time zone; ``until`` inclusive) to an aware UTC range;
    the default is the last DEFAULT_DAYS days up to now. ValueError on a bad date."""
    now = now or db.utcnow()
    end = (dt.datetime.combine(dt.date.fromisoformat(until) + dt.timedelta(days=1), dt.time(), tz)
           if until else now)
    start = (dt.datetime.combine(dt.date.fromisoformat(since), dt.time(), tz) if since
             else end - dt.timedelta(days=DEFAULT_DAYS))
    if end <= start:
        raise ValueError("the end date must not be before the start date")
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)
