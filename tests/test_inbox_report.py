"""Inbox reports (triage/inbox_report.py) on a seeded history with known times: medians,
p90s and SLA compliance per priority equal the figures worked out by hand below; no
message text in any form of the report."""
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, update

from triage import db, inbox_report
from triage.audit import AuditLog
from triage.cases import Cases

CANARY = "CANARY-Ortolan-4417 my biopsy came back"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc)
MIN = dt.timedelta(minutes=1)


def seed_case(cases, priority, created, claim=None, reply=None, resolve=None, channel="facebook", language="en"):
    """A case with CANARY text, created at ``created``; the other stages in minutes after it."""
    decision = "crisis" if priority == "urgent" else "private"
    case_id = cases.open_case(channel, f"psid-{created.timestamp()}-{priority}", {
        "decision": decision, "intent": "disclose_diagnosis_results", "confidence": 0.9, "language": language}, CANARY)
    sla = {"urgent": 15, "normal": 240}[priority]
    values = {"created_at": created, "sla_due_at": created + sla * MIN, "last_activity_at": created,
              "status": "open"}
    if claim is not None:
        values.update(status="claimed", claimed_at=created + claim * MIN, claimed_by="kim")
    if resolve is not None:
        values.update(status="resolved", resolved_at=created + resolve * MIN, resolved_by="kim", claimed_by="kim")
    with cases.engine.begin() as connection:
        connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(**values))
        if reply is not None:
            connection.execute(insert(db.case_messages).values(case_id=case_id, ts=created + reply * MIN,
                                                                author="staff:kim", body_sealed=None))
            connection.execute(insert(db.case_messages).values(case_id=case_id, ts=created + (reply + 1) * MIN,
                                                                author="staff:ana", body_sealed=None))
    return case_id


@pytest.fixture
def seeded(keystore, db_url):
    engine = db.engine(db_url)
    cases = Cases(keystore, AuditLog(keystore, engine))
    ids = {
        # urgent (SLA 15 min): claim 5, 10, 20, resolve-without-claim 12, never (open, overdue)
        "U1": seed_case(cases, "urgent", T0, claim=5, reply=10, resolve=30),
        "U2": seed_case(cases, "urgent", T0 + 60 * MIN, claim=10, reply=20, resolve=60),
        "U3": seed_case(cases, "urgent", T0 + 120 * MIN, claim=20, reply=25, resolve=90, channel="x", language="de"),
        "U4": seed_case(cases, "urgent", NOW - dt.timedelta(days=2)),
        "U5": seed_case(cases, "urgent", T0 + 180 * MIN, resolve=12),
        # normal (SLA 240 min): claim 60, claim 300, open and still within its SLA
        "N1": seed_case(cases, "normal", T0, claim=60, resolve=120),
        "N2": seed_case(cases, "normal", T0 + 30 * MIN, claim=300, reply=310, resolve=400),
        "N3": seed_case(cases, "normal", NOW - 10 * MIN),
    }
    rows = [  # Tue 24 Nov 11:00 Berlin; Sun 29 Nov 23:30 UTC is Mon 30 Nov 00:30 in Berlin
        *[dict(ts=dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone.utc), channel="rest", language="en",
               decision="answer", reply_ms=ms) for ms in (100, 200, 300)],
        dict(ts=dt.datetime(2026, 11, 24, 10, 5, tzinfo=dt.timezone.utc), channel="facebook", language="de",
             decision="private", reply_ms=400),
        dict(ts=dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.timezone.utc), channel="x", language="es",
             decision="crisis", reply_ms=5000),
        dict(ts=dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc), channel="rest", language="en",  # out of range
             decision="answer", reply_ms=99999),
    ]
    with engine.begin() as connection:
        connection.execute(insert(db.message_counts), rows)
    since, until = inbox_report.date_range("2026-11-23", "2026-11-30", BERLIN)
    return engine, ids, inbox_report.build(engine, BERLIN, since, until, now=NOW)


def test_times_and_sla_per_priority_equal_hand_computed_values(seeded):
    _, ids, report = seeded
    urgent, normal = report["cases"]["urgent"], report["cases"]["normal"]
    assert urgent["cases"] == 5 and normal["cases"] == 3
    # urgent claims [5, 10, 12, 20] min: median 11 min, p90 (nearest rank 4 of 4) 20 min
    assert urgent["claim"] == {"n": 4, "median_s": 660.0, "p90_s": 1200.0}
    # first staff replies [10, 20, 25] min (a later reply does not count)
    assert urgent["first_staff_reply"] == {"n": 3, "median_s": 1200.0, "p90_s": 1500.0}
    # resolves [12, 30, 60, 90] min: median 45 min, p90 90 min
    assert urgent["resolve"] == {"n": 4, "median_s": 2700.0, "p90_s": 5400.0}
    # met: U1, U2, U5 (resolved in 12 min); missed: U3 (20 min), U4 (never, overdue)
    assert urgent["sla"] == {"decided": 5, "met": 3, "compliance": 0.6, "missed": sorted([ids["U3"], ids["U4"]])}
    # normal claims [60, 300] min: median 180 min, p90 300 min; N3 is still within its SLA
    assert normal["claim"] == {"n": 2, "median_s": 10800.0, "p90_s": 18000.0}
    assert normal["first_staff_reply"] == {"n": 1, "median_s": 18600.0, "p90_s": 18600.0}
    assert normal["resolve"] == {"n": 2, "median_s": 15600.0, "p90_s": 24000.0}
    assert normal["sla"] == {"decided": 2, "met": 1, "compliance": 0.5, "missed": [ids["N2"]]}


def test_traffic_per_day_and_week_by_channel_and_language(seeded):
    _, _, report = seeded
    rows = {(r["period"], r["start"], r["channel"], r["language"]): r for r in report["traffic"]}
    tuesday = rows[("day", "2026-11-24", "rest", "en")]
    assert (tuesday["messages"], tuesday["answer"], tuesday["private"], tuesday["crisis"]) == (3, 3, 0, 0)
    assert rows[("day", "2026-11-24", "facebook", "de")]["private"] == 1
    # 23:30 UTC on Sunday is Monday in the clinic's time zone: that day and the next week
    assert rows[("day", "2026-11-30", "x", "es")]["crisis"] == 1
    assert rows[("week", "2026-11-30", "x", "es")]["messages"] == 1
    assert rows[("week", "2026-11-23", "rest", "en")]["messages"] == 3
    assert rows[("day", "2026-11-25", "facebook", "en")]["cases_opened"] == 5  # U1 U2 U5 N1 N2
    assert rows[("day", "2026-11-25", "x", "de")]["cases_opened"] == 1
    assert sum(r["messages"] for r in report["traffic"] if r["period"] == "day") == 5  # October is outside
    # bot reply times [0.1, 0.2, 0.3, 0.4, 5.0] s: median 0.3, p90 (rank 5 of 5) 5.0
    assert report["first_reply"] == {"n": 5, "median_s": 0.3, "p90_s": 5.0}


def test_backlog_by_age(seeded):
    _, _, report = seeded
    backlog = {row["age"]: (row["urgent"], row["normal"]) for row in report["backlog"]}
    assert backlog == {"<1h": (0, 1), "1-4h": (0, 0), "4-24h": (0, 0), "1-3d": (1, 0), ">3d": (0, 0)}


def test_no_text_or_intent_in_csv_json_or_charts(seeded):
    _, ids, report = seeded
    for body in (inbox_report.to_csv(report), inbox_report.to_json(report),
                 "".join(inbox_report.charts(report))):
        assert "CANARY" not in body and "biopsy" not in body and "disclose_" not in body and "psid-" not in body
    lines = inbox_report.to_csv(report).splitlines()
    assert lines[0] == "section,period,start,channel,language,priority,metric,value"
    assert f"sla,,,,,urgent,missed_case,{ids['U3']}" in lines
    assert "sla,,,,,urgent,compliance,0.6" in lines
    assert json.loads(inbox_report.to_json(report))["cases"]["normal"]["sla"]["compliance"] == 0.5


def test_charts_are_plain_svg():
    report = {"traffic": [{"period": "day", "start": "2026-11-24", "channel": "rest", "language": "en",
                           "messages": 3, "answer": 2, "private": 0, "crisis": 1, "cases_opened": 1}],
              "backlog": [{"age": "<1h", "urgent": 1, "normal": 2}]}
    for svg in inbox_report.charts(report):
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "<script" not in svg and "style=" not in svg and "href" not in svg


def test_percentiles():
    assert inbox_report.p90([]) is None and inbox_report.median([]) is None
    assert inbox_report.p90(list(range(1, 11))) == 9.0  # rank ceil(0.9 * 10) = 9
    assert inbox_report.p90(list(range(1, 12))) == 10.0  # rank ceil(9.9) = 10
    assert inbox_report.median([4, 1, 3, 2]) == 2.5
