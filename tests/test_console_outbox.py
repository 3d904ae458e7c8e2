"""The console's outbox page (triage/console/outbox_page.py) and a staff reply refused by
Meta's messaging window, which keeps the draft in the form. Against a running console."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from tests.test_console import Console
from triage import db
from triage.outbox import Outbox, Refused

DRAFT = "Hello, this is Anna from the clinic. Please call us."


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("console-outbox")
    server = Console(workdir, f"sqlite:///{workdir / 'triage.db'}", FACEBOOK_VERIFY_TOKEN="v",
                     FACEBOOK_APP_SECRET="s", FACEBOOK_PAGE_ACCESS_TOKEN="page-token",
                     FACEBOOK_GRAPH_URL="http://127.0.0.1:9/v23.0", FACEBOOK_HUMAN_AGENT="1").start()
    yield server
    server.stop()


def test_staff_see_the_outbox_without_text_and_auditors_do_not(console):
    box = Outbox(console.keys, console.engine)
    box.enqueue("x", "1234567", "CANARY waiting words", "crisis")
    box.enqueue("x", "7654321", "CANARY failing words", "answer")

    def refuse(recipient, text):
        raise Refused("HTTP 403: You cannot send messages to this user.")

    box.deliver_one("x", refuse)  # the crisis one first
    page = console.client("nurse.kim", "staff").get("/outbox")
    assert page.status_code == 200
    assert "1 waiting" in page.text and "1 failed" in page.text and "cannot send messages to this user" in page.text
    assert "CANARY" not in page.text and "1234567" not in page.text and "7654321" not in page.text
    rows = console.client("nurse.kim", "staff").get("/outbox?state=failed").text.split("<tbody>")[1]
    assert "<td>failed</td><td>crisis</td>" in rows and "waiting" not in rows
    assert console.client("aud.lee", "auditor").get("/outbox").status_code == 403


@pytest.mark.parametrize("channel", ["facebook", "instagram"])
def test_a_reply_after_seven_days_is_refused_and_the_draft_stays_in_the_form(console, channel):
    case_id = console.cases.open_case(channel, f"psid-{uuid.uuid4().hex[:8]}", {
        "decision": "private", "intent": "disclose_symptoms", "confidence": 0.9, "language": "en"}, "CANARY")
    with console.engine.begin() as connection:
        connection.execute(update(db.case_messages).where(db.case_messages.c.case_id == case_id).values(
            ts=db.utcnow() - dt.timedelta(days=8)))
    response = console.client("nurse.kim", "staff").post(f"/cases/{case_id}/reply", {"text": DRAFT})
    assert response.status_code == 400
    assert "after 7 days" in response.text and "draft is kept" in response.text
    assert f">{DRAFT}</textarea>" in response.text
