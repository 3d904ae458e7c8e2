"""The console's inbox pages over HTTP (triage/console/inbox_pages.py), on SQLite and
PostgreSQL: reports for admins only, without message text, audited when opened or
exported; incident notices and surge alerts as banners on every page; the CLI's
`triage inbox-report` with the same figures."""
import csv
import datetime as dt
import io
import json
import re

from sqlalchemy import insert

from tests.test_console import CANARY, Console, console  # noqa: F401 - the console fixture
from triage import db

TEXTS = {"text_en": "Phone lines are down until 14:00, please use the portal.",
         "text_de": "Die Telefone sind bis 14 Uhr gestört.", "text_es": "Los teléfonos no funcionan hasta las 14:00.",
         "text_bg": "Телефоните не работят до 14:00."}


def seed_counts(console, count=6):
    now = db.utcnow()
    rows = [{"ts": now - dt.timedelta(minutes=5 * i), "channel": "facebook", "language": "en",
             "decision": ("answer", "private", "crisis")[i % 3], "reply_ms": 100 + i} for i in range(count)]
    with console.engine.begin() as connection:
        connection.execute(insert(db.message_counts), rows)


def test_reports_and_notices_are_admin_only(console):
    staff = console.client("nurse.kim", "staff")
    for path in ("/reports", "/reports/export?format=csv", "/notices"):
        assert staff.get(path).status_code == 403, path
    assert staff.post("/notices", {"scope": "all", **TEXTS}).status_code == 403
    assert console.events("report_viewed") == [] and console.events("report_exported") == []
    anonymous = console.client()
    assert anonymous.get("/reports").status_code == 302
    assert anonymous.post("/notices", {"scope": "all"}, csrf="forged").status_code == 401


def test_report_page_and_exports_have_no_text_and_are_audited(console):
    console.new_case(CANARY, decision="crisis")
    seed_counts(console)
    admin = console.client("ana", "admin")
    page = admin.get("/reports")
    assert page.status_code == 200
    assert "CANARY" not in page.text and "hiv" not in page.text.lower() and "disclose_" not in page.text
    assert page.text.count("<svg") == 2 and "<script>" not in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert 'data-priority="urgent"' in page.text
    viewed = console.events("report_viewed")[-1]
    assert (viewed["actor"], viewed["outcome"]) == ("admin:ana", "html")
    exported = {}
    for form in ("csv", "json"):
        response = admin.get(f"/reports/export?format={form}")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        assert "CANARY" not in response.text and "hiv" not in response.text.lower() and "psid-" not in response.text
        exported[form] = response.text
    assert [e["outcome"] for e in console.events("report_exported")][-2:] == ["csv", "json"]
    report = json.loads(exported["json"])
    assert report["cases"]["urgent"]["cases"] >= 1
    rows = list(csv.DictReader(io.StringIO(exported["csv"])))
    assert sum(int(r["value"]) for r in rows if r["section"] == "traffic" and r["metric"] == "crisis"
               and r["period"] == "day") >= 2
    assert admin.get("/reports?since=2026-13-01").status_code == 400
    assert admin.get("/reports/export?format=xml").status_code == 400
    assert console.audit.verify().ok


def test_cli_inbox_report_gives_the_same_figures_and_is_audited(console):
    console.new_case(CANARY)
    refused = console.cli("inbox-report")
    assert refused.returncode == 1 and "--staff" in refused.stderr
    done = console.cli("inbox-report", "--format", "json", "--staff", "ana")
    assert done.returncode == 0, done.stderr
    assert "CANARY" not in done.stdout
    admin = console.client("ana", "admin")
    from_console = json.loads(admin.get("/reports/export?format=json").text)
    from_cli = json.loads(done.stdout)
    assert from_cli["cases"] == from_console["cases"] and from_cli["traffic"] == from_console["traffic"]
    exported = [e for e in console.events("report_exported") if e["actor"] == "staff:ana"]
    assert exported and exported[-1]["outcome"] == "json"
    bad = console.cli("inbox-report", "--since", "2026-12-10", "--until", "2026-12-01", "--staff", "ana")
    assert bad.returncode == 1 and "end date" in bad.stderr


def test_a_notice_shows_on_every_page_until_it_ends_and_is_audited(console):
    admin = console.client("ana", "admin")
    staff = console.client("nurse.kim", "staff")
    missing = admin.post("/notices", {"scope": "routine", "starts": "2026-01-01T08:00", "ends": "2099-01-01T08:00",
                                      **{**TEXTS, "text_bg": ""}})
    assert missing.status_code == 400 and "bg text is missing" in missing.text and TEXTS["text_de"] in missing.text
    created = admin.post("/notices", {"scope": "routine", "starts": "2026-01-01T08:00", "ends": "2099-01-01T08:00",
                                      **TEXTS})
    assert created.status_code == 302
    for client, path in ((staff, "/inbox"), (admin, "/reports"), (admin, "/notices")):
        assert TEXTS["text_en"] in client.get(path).text, path
    notice_id = console.events("notice_created")[-1]
    assert notice_id["actor"] == "admin:ana" and notice_id["outcome"] == "routine"
    page = admin.get("/notices").text
    notice = re.search(r'id="notice-(n[0-9a-f]{12})"', page).group(1)
    changed = admin.post(f"/notices/{notice}", {"scope": "all", "starts": "2026-01-01T08:00",
                                                "ends": "2099-01-01T08:00", **{**TEXTS, "text_en": "Back at 15:00."}})
    assert changed.status_code == 302 and "Back at 15:00." in staff.get("/inbox").text
    assert admin.post(f"/notices/{notice}/end").status_code == 302
    assert "Back at 15:00." not in staff.get("/inbox").text
    assert [e["event"] for e in console.audit.rows() if e["event"].startswith("notice_")][-3:] == [
        "notice_created", "notice_changed", "notice_ended"]


def test_a_recent_surge_alert_shows_as_a_banner(console):
    staff = console.client("nurse.kim", "staff")
    assert "Inbox surge" not in staff.get("/inbox").text
    figures = {"messages": 41, "usual_messages": 5, "crisis": 3, "crisis_share": 0.073, "usual_crisis_share": 0.02,
               "private": 12, "private_share": 0.293, "usual_private_share": 0.3}
    with console.engine.begin() as connection:
        connection.execute(insert(db.surge_alerts).values(ts=db.utcnow(), reasons="volume", figures=json.dumps(figures)))
    inbox = staff.get("/inbox").text
    assert "Inbox surge (volume): 41 messages in the last hour (usual 5)" in inbox
