"""The reports page in Debian's headless Chromium: the inline SVG charts draw under the
console's strict Content-Security-Policy (nothing refused), the incident banner shows;
saves reports/console-reports.png."""
import datetime as dt
import random

from sqlalchemy import insert, update

from tests.test_console import Console
from tests.test_console_browser import REPORTS, browser  # noqa: F401 - the browser fixture
from triage import db


def seed(console):
    rng = random.Random(7)
    now = db.utcnow()
    rows = []
    for day in range(14):
        for _ in range(rng.randint(20, 60)):
            decision = rng.choices(("answer", "private", "crisis"), (80, 17, 3))[0]
            rows.append({"ts": now - dt.timedelta(days=day, minutes=rng.randint(0, 600)), "channel":
                         rng.choice(("facebook", "x", "rest")), "language": rng.choice(("en", "de", "es", "bg")),
                         "decision": decision, "reply_ms": rng.randint(40, 400)})
    with console.engine.begin() as connection:
        connection.execute(insert(db.message_counts), rows)
    for index in range(8):
        case_id = console.new_case(decision="crisis" if index % 3 == 0 else "private")
        created = now - dt.timedelta(hours=rng.randint(1, 90))
        sla = 15 if index % 3 == 0 else 240
        values = {"created_at": created, "sla_due_at": created + dt.timedelta(minutes=sla)}
        if index % 2:
            values.update(status="claimed", claimed_by="kim",
                          claimed_at=created + dt.timedelta(minutes=rng.randint(3, 2 * sla)))
        with console.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(**values))


def test_reports_page_draws_under_the_csp(browser, tmp_path):  # noqa: F811
    console = Console(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}").start()
    try:
        seed(console)
        admin = console.client("ana", "admin")  # signed in (with its second factor) over HTTP
        start = db.utcnow().astimezone().strftime("%Y-%m-%dT00:00")
        assert admin.post("/notices", {"scope": "routine", "starts": start, "ends": "2099-01-01T00:00",
                                       "text_en": "Phone lines are down until 14:00; please use the portal.",
                                       "text_de": "Telefone bis 14 Uhr gestört.", "text_es": "Teléfonos caídos.",
                                       "text_bg": "Телефоните не работят."}).status_code == 302
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.add_cookies([{"name": "triage_console", "value": admin.cookies["triage_console"],
                              "url": console.base}])
        page = context.new_page()
        blocked = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(console.base + "/reports")
        page.wait_for_selector("svg.chart")
        assert page.locator("svg.chart").count() == 2
        assert page.locator("svg.chart rect").count() > 20
        assert page.locator("svg.chart").first.bounding_box()["width"] > 300
        assert page.locator("p.banner.incident").inner_text().endswith("please use the portal.")
        assert "CANARY" not in page.content()
        REPORTS.mkdir(exist_ok=True)
        page.screenshot(path=str(REPORTS / "console-reports.png"))  # the charts and SLA table
        assert blocked == []
        context.close()
    finally:
        console.stop()
