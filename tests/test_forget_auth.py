"""REST authentication and "forget me" only for an authenticated sender (issue 15).

The REST handler runs in process (its blueprint's route, a stand-in request) with the
real handoff layer on SQLite: what matters is which requests reach a conversation and
whether a "forget me" sent with another patient's id erases that patient's case text.
"""
import asyncio
import json
import time
from pathlib import Path

import jwt
import pytest

from triage import db, handoff, retention
from triage.audit import AuditLog
from triage.cases import Cases, CasePolicy
from triage.channels.rest import RestInput
from triage.rasa import tracker_store
from triage.services import Services
from triage.notify import Notifier

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-rest-jwt-secret-of-some-length"
OVERDOSE = {"decision": "crisis", "intent": "crisis_overdose", "confidence": 1.0, "language": "en"}
OVERDOSE_TEXT = "i took all of my pills an hour ago"


@pytest.fixture
def svc(keystore, tmp_path, monkeypatch):
    audit = AuditLog(keystore, db.engine(f"sqlite:///{tmp_path / 'triage.db'}"))
    services = Services(keystore, audit, Cases(keystore, audit, CasePolicy({"urgent": 15, "normal": 240})),
                        Notifier(audit, targets=[]))
    monkeypatch.setattr("triage.services.default", lambda: services)
    monkeypatch.setattr(tracker_store, "from_endpoints", lambda *a, **k: None)
    return services


class Request:
    def __init__(self, body, token=None):
        self.body = json.dumps(body).encode()
        self.headers = {"authorization": f"Bearer {token}"} if token else {}


def token(sub, secret=SECRET, expires_in=300, **claims):
    return jwt.encode({"sub": sub, "exp": int(time.time()) + expires_in, **claims}, secret, algorithm="HS256")


def post(channel, body, bearer=None):
    """(status, reply texts, messages that reached Rasa) for one REST request."""
    reached = []

    async def on_new_message(message):
        reached.append(message)

    handler = next(r.handler for r in channel.blueprint(on_new_message)._future_routes if r.uri == "/webhook")
    response = asyncio.run(handler(Request(body, bearer)))
    payload = json.loads(response.body)
    texts = [m.get("text") for m in payload] if isinstance(payload, list) else []
    return response.status, texts, reached


def victim_case(svc, channel="rest", sender="patient-victim"):
    return svc.cases.open_case(channel, sender, OVERDOSE, OVERDOSE_TEXT)


def texts_of(svc, case_id):
    return [(m["text"], m["removed"]) for m in svc.cases.show(case_id, "auditor")["messages"]]


# -- 1. REST authentication ------------------------------------------------------------------

@pytest.mark.parametrize("env,mode", [
    ({}, "open"),
    ({"TRIAGE_REST_JWT_SECRET": SECRET}, "jwt"),
    ({"TRIAGE_REST_AUTH": "open", "TRIAGE_REST_JWT_SECRET": SECRET}, "open"),
    ({"TRIAGE_REST_AUTH": "OFF"}, "off"),
    ({"TRIAGE_REST_AUTH": "maybe"}, "off"),  # a typo never leaves the channel open
])
def test_the_mode_comes_from_the_environment(monkeypatch, env, mode):
    for name in ("TRIAGE_REST_AUTH", "TRIAGE_REST_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert RestInput.from_credentials(None).auth == mode


@pytest.mark.parametrize("bearer", [None, "not-a-jwt", token("p-1", secret="another-secret-entirely-xx"),
                                    token("p-1", expires_in=-60),
                                    jwt.encode({"sub": "p-1"}, SECRET, algorithm="HS256"),  # no exp
                                    jwt.encode({"sub": "p-1", "exp": 4102444800}, None, algorithm="none")])  # unsigned
def test_jwt_mode_refuses_requests_without_a_valid_token(svc, bearer):
    status, texts, reached = post(RestInput("jwt", SECRET), {"sender": "p-1", "message": "forget me"}, bearer)
    assert status == 401 and reached == [] and texts == []


def test_jwt_mode_answers_the_tokens_own_sender_only(svc):
    channel = RestInput("jwt", SECRET)
    status, _, reached = post(channel, {"sender": "p-1", "message": "are you open on saturday?"}, token("p-1"))
    assert status == 200 and len(reached) == 1
    assert reached[0].metadata[retention.SENDER_AUTHENTICATED] is True
    status, _, reached = post(channel, {"sender": "p-2", "message": "hi"}, token("p-1"))
    assert status == 403 and reached == []


def test_switched_off_and_unconfigured_jwt_reach_no_conversation(svc):
    assert post(RestInput("off"), {"sender": "p-1", "message": "hi"})[::2] == (403, [])
    assert post(RestInput("jwt", ""), {"sender": "p-1", "message": "hi"}, token("p-1"))[::2] == (401, [])


def test_open_mode_still_answers_without_a_token_but_refuses_a_bad_one(svc):
    channel = RestInput("open", SECRET)
    status, _, reached = post(channel, {"sender": "p-1", "message": "hi"})
    assert status == 200 and retention.SENDER_AUTHENTICATED not in reached[0].metadata
    assert post(channel, {"sender": "p-1", "message": "hi"}, "forged.token.here")[::2] == (401, [])


def test_production_profile_requires_auth():
    """scripts/run-prod turns REST authentication on unless told otherwise; `make run` does not."""
    run_prod = (ROOT / "scripts" / "run-prod").read_text()
    assert 'export TRIAGE_REST_AUTH="${TRIAGE_REST_AUTH:-jwt}"' in run_prod
    assert "TRIAGE_REST_AUTH" not in (ROOT / "scripts" / "run").read_text()


# -- 2. forget-me acts only on the authenticated sender --------------------------------------

def test_forget_me_with_another_patients_id_erases_nothing(svc):
    case_id = victim_case(svc)
    status, texts, reached = post(RestInput("open"), {"sender": "patient-victim", "message": "forget me"})
    assert status == 200 and reached == []  # handled before Rasa; the text is not stored either
    assert len(texts) == 1 and "Nothing has been deleted" in texts[0] and "victim" not in texts[0]
    assert texts_of(svc, case_id) == [(OVERDOSE_TEXT, None)]
    assert [r["outcome"] for r in svc.audit.rows() if r["event"] == "forgotten"] == ["refused_unauthenticated"]


def test_a_client_cannot_claim_to_be_authenticated(svc):
    case_id = victim_case(svc)
    body = {"sender": "patient-victim", "message": "forget me", "metadata": {retention.SENDER_AUTHENTICATED: True}}
    for channel in (RestInput("open"), RestInput("open", SECRET)):
        assert post(channel, body)[0] == 200
    assert post(RestInput("jwt", SECRET), body, token("patient-attacker"))[0] == 403
    assert texts_of(svc, case_id) == [(OVERDOSE_TEXT, None)]


def test_forget_me_with_the_senders_own_jwt_erases_their_text(svc):
    case_id = victim_case(svc)
    other = victim_case(svc, sender="someone-else")
    status, texts, _ = post(RestInput("jwt", SECRET), {"sender": "patient-victim", "message": "Forget me!"},
                            token("patient-victim"))
    assert status == 200 and "deleted" in texts[0]
    assert texts_of(svc, case_id) == [(None, "removed at the patient's request")]
    assert texts_of(svc, other) == [(OVERDOSE_TEXT, None)]


@pytest.mark.parametrize("channel", ["facebook", "instagram", "x"])
def test_signed_channels_forget_their_own_sender(svc, channel):
    mine, theirs = victim_case(svc, channel, "1001"), victim_case(svc, channel, "1002")
    intercepted = handoff.intercept(svc, "1001", channel, "forget me", {})
    assert intercepted.consumed and "deleted" in intercepted.replies[0]
    assert texts_of(svc, mine) == [(None, "removed at the patient's request")]
    assert texts_of(svc, theirs) == [(OVERDOSE_TEXT, None)]


def test_unknown_channels_are_not_trusted(svc):
    case_id = victim_case(svc, "facebook_comment", "1001")
    intercepted = handoff.intercept(svc, "1001", "facebook_comment", "forget me",
                                    {retention.SENDER_AUTHENTICATED: True})
    assert intercepted.consumed and "Nothing has been deleted" in intercepted.replies[0]
    assert texts_of(svc, case_id) == [(OVERDOSE_TEXT, None)]


# -- 4. erased text is labelled by why it was erased ---------------------------------------

def test_erased_text_is_labelled_by_reason(svc):
    import datetime as dt

    by_patient, by_admin, by_retention = (victim_case(svc, "x", s) for s in ("1", "2", "3"))
    svc.cases.resolve(by_retention, "ana", "contacted")
    retention.forget(svc, None, "x", "1", actor="patient")
    retention.forget(svc, None, "x", "2", actor="staff:admin")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=40)
    retention.purge(svc, None, retention.RetentionPolicy(30, 30), actor="staff:admin", now=later)
    assert texts_of(svc, by_patient) == [(None, "removed at the patient's request")]
    assert texts_of(svc, by_admin) == [(None, "removed by an administrator (forget)")]
    assert texts_of(svc, by_retention) == [(None, "removed by retention")]


def test_the_cli_and_the_console_show_the_reason(svc):
    import argparse
    import io

    from triage.cli.cases import cases_command

    case_id = victim_case(svc, "x", "1")
    retention.forget(svc, None, "x", "1", actor="patient")
    out = io.StringIO()
    assert cases_command(argparse.Namespace(action="show", case_id=case_id, staff="ana"), out) == 0
    assert "[removed at the patient's request]" in out.getvalue() and "retention" not in out.getvalue()
    template = (ROOT / "triage" / "console" / "templates" / "case.html").read_text()
    assert "[{{ m.removed }}]" in template and "removed by retention" not in template
