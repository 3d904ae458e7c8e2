"""Staff replies on Messenger and Instagram inside Meta's messaging windows, and Graph API
errors explained to staff, against the recording fake Graph API on 127.0.0.1 (no Rasa server)."""
import datetime as dt
import io
import uuid
from argparse import Namespace

import pytest
from sqlalchemy import update

from tests.fakes import Recorder
from triage import db
from triage.services import Services
from triage.audit import AuditLog
from triage.cases import Cases
from triage.channels import outbound
from triage.notify import Notifier
from triage.review import ReviewQueue

GRAPH = "/v23.0"
DRAFT = "Hello, this is Anna from the clinic. Could you call us today?"


@pytest.fixture(scope="module")
def api():
    fake = Recorder().start()
    yield fake
    fake.stop()


@pytest.fixture
def svc(keystore, tmp_path, monkeypatch, api):
    audit = AuditLog(keystore, db.engine(f"sqlite:///{tmp_path / 'triage.db'}"))
    services = Services(keystore, audit, Cases(keystore, audit), Notifier(audit, targets=[]),
                                ReviewQueue(keystore, audit))
    monkeypatch.setattr("triage.services.default", lambda: services)
    for name, value in {"FACEBOOK_VERIFY_TOKEN": "v", "FACEBOOK_APP_SECRET": "s",
                        "FACEBOOK_PAGE_ACCESS_TOKEN": "page-token", "FACEBOOK_GRAPH_URL": api.url + GRAPH}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(outbound.ENV_HUMAN_AGENT, raising=False)
    api.responder = None
    return services


def case_written(svc, hours_ago, channel="facebook"):
    """A case whose patient last wrote ``hours_ago`` hours ago; returns (case id, psid)."""
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    case_id = svc.cases.open_case(channel, psid, {"decision": "private", "intent": "disclose_symptoms",
                                                  "language": "en"}, "my anxiety is bad")
    with svc.cases.engine.begin() as connection:
        connection.execute(update(db.case_messages).where(db.case_messages.c.case_id == case_id).values(
            ts=db.utcnow() - dt.timedelta(hours=hours_ago)))
    return case_id, psid


def sends(api, psid):
    return [r for r in api.received(lambda r: r["path"].startswith(f"{GRAPH}/me/messages"))
            if (r["body"] or {}).get("recipient", {}).get("id") == psid]


@pytest.mark.parametrize("channel", ["facebook", "instagram"])
def test_within_24_hours_a_standard_response_without_a_tag(svc, api, channel):
    case_id, psid = case_written(svc, 1, channel)
    assert outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT) == channel
    body = sends(api, psid)[0]["body"]
    assert body["messaging_type"] == "RESPONSE" and "tag" not in body and body["message"]["text"] == DRAFT
    assert svc.cases.show(case_id, "nurse-7")["messages"][-1]["text"] == DRAFT


def test_after_three_days_the_human_agent_tag_only_when_meta_approved_it(svc, api, monkeypatch):
    case_id, psid = case_written(svc, 72)
    with pytest.raises(outbound.ReplyRefused) as refused:
        outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT)
    assert "72 hours ago" in str(refused.value) and "FACEBOOK_HUMAN_AGENT" in str(refused.value)
    assert "draft is kept" in str(refused.value) and sends(api, psid) == []
    monkeypatch.setenv(outbound.ENV_HUMAN_AGENT, "1")
    outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT)
    body = sends(api, psid)[0]["body"]
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"


def test_after_seven_days_no_reply_and_the_cli_keeps_the_draft(svc, api, monkeypatch, capsys):
    from triage.cli.cases import cases_command

    monkeypatch.setenv(outbound.ENV_HUMAN_AGENT, "1")
    case_id, psid = case_written(svc, 8 * 24)
    with pytest.raises(outbound.ReplyRefused) as refused:
        outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT)
    assert "8 days ago" in str(refused.value) and "after 7 days" in str(refused.value)
    code = cases_command(Namespace(action="reply", case_id=case_id, staff="nurse-7", text=DRAFT), io.StringIO())
    err = capsys.readouterr().err
    assert code != 0 and "reply not sent" in err and DRAFT in err and "draft" in err.lower()
    assert sends(api, psid) == []
    assert [m["author"] for m in svc.cases.show(case_id, "nurse-7")["messages"]] == ["patient"]  # nothing attached


@pytest.mark.parametrize("error,expected", [
    ({"code": 10, "error_subcode": 2018278}, "outside the messaging window"),
    ({"code": 551, "error_subcode": 1545041}, "not available"),
    ({"code": 190, "error_subcode": 463}, "access token"),
    ({"code": 100, "error_subcode": 2018001}, "error code 100, subcode 2018001"),
    ({"code": 4}, "rate limit"), ({"code": 17}, "rate limit"), ({"code": 32}, "rate limit"),
    ({"code": 613}, "rate limit"), ({"code": 80006}, "rate limit"), ({"code": 368}, "rate limit"),
])
def test_each_graph_error_becomes_a_clear_message_for_staff(svc, api, error, expected):
    api.responder = lambda entry: (400, {"error": {"message": "(#x) refused", "type": "OAuthException",
                                                   "fbtrace_id": "A1", **error}}, {})
    case_id, psid = case_written(svc, 1)
    with pytest.raises(outbound.ReplyRefused) as refused:
        outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT)
    assert expected in str(refused.value) and "draft is kept" in str(refused.value)
    assert len(sends(api, psid)) == 1  # one try: a rate limit is not slept on in the console's request
    assert DRAFT not in [m["text"] for m in svc.cases.show(case_id, "nurse-7")["messages"]]


def test_a_meta_rate_limit_names_metas_time_at_once_and_the_next_try_goes(svc, api):
    import json
    import time

    usage = {"1234567890": [{"type": "pages", "call_count": 100, "total_cputime": 30, "total_time": 40,
                             "estimated_time_to_regain_access": 17}]}
    api.responder = lambda entry: (400, {"error": {"message": "(#80006) There have been too many messages sent to "
                                                   "this Page", "type": "OAuthException", "code": 80006}},
                                   {"X-Business-Use-Case-Usage": json.dumps(usage)})
    case_id, psid = case_written(svc, 2)
    started, before = time.monotonic(), db.utcnow()
    with pytest.raises(outbound.ReplyRefused) as refused:
        outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT)
    assert time.monotonic() - started < 5
    expected = {(moment + dt.timedelta(minutes=17)).strftime("Try again after %H:%M UTC") for moment in (before, db.utcnow())}
    assert any(e in str(refused.value) for e in expected) and "draft is kept" in str(refused.value)
    api.responder = None
    outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT)
    assert [r["status"] for r in sends(api, psid)] == [400, 200]
    assert svc.cases.show(case_id, "nurse-7")["messages"][-1]["text"] == DRAFT


def test_an_x_staff_reply_never_waits_out_a_rate_limit(svc, api, monkeypatch):
    import time

    for name, value in {"X_CONSUMER_KEY": "ck", "X_CONSUMER_SECRET": "cs", "X_ACCESS_TOKEN": "at",
                        "X_ACCESS_TOKEN_SECRET": "ats", "X_USER_ID": "4337869213", "X_API_URL": api.url}.items():
        monkeypatch.setenv(name, value)
    api.responder = lambda entry: (429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(int(time.time()) + 600)})
    case_id, user = case_written(svc, 200, "x")  # no messaging window on X
    started = time.monotonic()
    with pytest.raises(outbound.ReplyRefused) as refused:
        outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT)
    assert time.monotonic() - started < 5 and "try again after" in str(refused.value)
    assert "draft is kept" in str(refused.value)
    api.responder = None
    assert outbound.send_staff_reply(svc, case_id, "nurse-7", DRAFT) == "x"
    sent = api.received(lambda r: r["path"] == f"/2/dm_conversations/with/{user}/messages")
    assert [r["status"] for r in sent] == [429, 200] and sent[-1]["body"]["text"] == DRAFT
