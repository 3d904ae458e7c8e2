"""Messenger and Instagram replies through the priority outbox (triage/outbox.py), against the
recording fake Graph API on 127.0.0.1, with Meta's rate limits as Meta sends them (HTTP 400 with
error code 613 / 80006 and usage headers). No Rasa server: the channel's processing path with a
stand-in for Rasa's turn that replies as the NLG does (the reply text and its decision), the
real handoff layer and cases, the sender loops and the database."""
import asyncio
import datetime as dt
import json
import threading
import time

import pytest
from sqlalchemy import select

from tests import channel_payloads as p
from tests.fakes import Recorder
from triage import db, handoff, outbox
from triage.channels import messenger
from triage.decision import Decision
from triage.replies import reply_for

GRAPH = "/v23.0"
INBOX = "263902037430900"
CRISIS_REPLY = reply_for({"decision": "crisis", "intent": "", "language": "en"})


@pytest.fixture
def box(svc, monkeypatch):
    """This test's outbox, as outbox.shared() would be in the server; failures open cases."""
    shared = outbox.Outbox(svc.keys, svc.cases.engine,
                           on_failure=lambda info, recipient, reason: outbox.escalate_failure(svc, info, recipient,
                                                                                              reason))
    monkeypatch.setattr(outbox, "shared", lambda: shared)
    return shared


@pytest.fixture
def api():
    fake = Recorder().start()
    yield fake
    fake.stop()


def channel(api, **extra):
    return messenger.MessengerInput("verify", "secret", "page-token", graph_url=api.url + GRAPH,
                                    instagram_access_token="ig-token", **extra)


def loop_for(box, meta, name="facebook", client=None):
    send, by_kind = meta.senders(name, client or (meta.client if name == "facebook" else meta.instagram_client))
    return outbox.SenderLoop(box, name, send, poll=0.1, by_kind=by_kind)


def sent_texts(api, status=200):
    return [r["body"]["message"]["text"] for r in api.received(
        lambda r: r["path"].startswith(f"{GRAPH}/me/messages") and r["status"] == status)]


def wait_until(check, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def throttled(api, limit_at=(1, 9), header=None):
    """Meta's throttling: the requests numbered ``limit_at`` get HTTP 400 with error code 613 and
    a usage header (by default an app-usage one, which names no time), the others succeed."""
    count, lock = {"n": 0}, threading.Lock()
    header = header or {"X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 20, "total_time": 30})}

    def respond(entry):
        with lock:
            count["n"] += 1
            n = count["n"]
        if n in limit_at:
            return 400, {"error": {"message": "(#613) Calls to this api have exceeded the rate limit.",
                                   "type": "OAuthException", "code": 613, "fbtrace_id": "Ax1"}}, header
        return 200, {"recipient_id": "1", "message_id": f"m_{n}"}, {}

    api.responder = respond


def rasa_turn(decision: str, reply: str):
    """What Rasa's turn does for these tests: the NLG's reply with its decision, and for an
    escalation the case through handoff.escalate, as utter_escalate does."""
    async def on_new_message(message):
        if decision != "answer":
            await asyncio.to_thread(handoff.escalate, message.sender_id, message.input_channel, Decision.from_dict(
                {"decision": decision, "intent": "x", "language": "en", "confidence": 0.9, "reasons": []}),
                message.text)
        await message.output_channel.send_text_message(message.sender_id, reply, triage_decision=decision,
                                                       triage_language="en")

    return on_new_message


def message_event(payload):
    return [e for e in messenger.parse(payload) if e.kind == "message"][0]


def test_twenty_replies_through_metas_rate_limit_crisis_first_and_a_restart_loses_none(svc, box, api, monkeypatch):
    monkeypatch.setattr(messenger, "RATE_LIMIT_WAIT", 1.0)  # an app-usage header names no time: the default
    throttled(api)
    meta = channel(api)
    crisis_at = {4, 11, 18}
    texts = [f"{'CRISIS' if i in crisis_at else 'routine'} reply {i}" for i in range(20)]

    async def webhook_processing():
        # each message as the webhook's processing handles it: it must return at once, whatever Meta says
        for i, text in enumerate(texts):
            decision = "crisis" if i in crisis_at else "answer"
            event = message_event(p.fb_batch(p.fb_text(f"psid-{i}", "hello")))
            started = time.monotonic()
            await meta._message(event, rasa_turn(decision, text))
            assert time.monotonic() - started < 1.0

    asyncio.run(webhook_processing())
    assert api.received() == []  # nothing is sent by the processing itself
    with db.reading(svc.cases.engine) as connection:
        stored = connection.execute(select(db.outbound_messages.c.body_sealed)).scalars().all()
    assert len(stored) == 20 and not any(w in token for token in stored for w in ("routine", "CRISIS"))

    loop = loop_for(box, meta)
    loop.start()
    assert wait_until(lambda: len(sent_texts(api)) >= 6)
    loop.stop()
    assert not loop.is_alive()
    before_restart = len(sent_texts(api))
    assert sent_texts(api)[:3] == [texts[i] for i in sorted(crisis_at)]  # crisis first, through the 613
    assert api.received()[0]["status"] == 400

    restarted = outbox.Outbox(svc.keys, svc.cases.engine)  # a new process on the same database
    loop = loop_for(restarted, meta)
    loop.start()
    try:
        assert wait_until(lambda: len(sent_texts(api)) >= 20, timeout=40), sent_texts(api)
    finally:
        loop.stop()
    sent = sent_texts(api)
    assert sorted(sent) == sorted(texts) and len(sent) == 20 and before_restart < 20  # each once
    assert [s for s in sent if "routine" in s] == [t for t in texts if "routine" in t]  # in order
    assert len(sent_texts(api, status=400)) == 2
    assert {r["state"] for r in restarted.listing()} == {"sent"}
    assert all(r["body"]["messaging_type"] == "RESPONSE" for r in api.received())
    crisis_cases = [svc.cases.active_case("facebook", f"psid-{i}") for i in sorted(crisis_at)]
    assert all(c and c["priority"] == "urgent" for c in crisis_cases)


def test_metas_estimate_pauses_the_whole_channel_in_the_table(svc, box, api):
    usage = {"1234567890": [{"type": "messenger", "call_count": 100, "total_cputime": 20, "total_time": 30,
                             "estimated_time_to_regain_access": 17}]}
    throttled(api, limit_at=(1,), header={"X-Business-Use-Case-Usage": json.dumps(usage)})
    for i in range(3):
        box.enqueue("facebook", f"psid-{i}", f"routine {i}", "answer")
    box.enqueue("instagram", "ig-1", "instagram routine", "answer")
    meta = channel(api)
    send, by_kind = meta.senders("facebook", meta.client)
    first = box.deliver_one("facebook", send, by_kind=by_kind)
    assert not first.sent and 17 * 60 - 5 <= first.wait <= 17 * 60  # Meta's minutes, nothing slept
    assert box.deliver_one("facebook", send, by_kind=by_kind).wait > 0 and len(api.received()) == 1
    with db.reading(svc.cases.engine) as connection:
        due = dict(connection.execute(select(db.outbound_messages.c.channel, db.outbound_messages.c.next_attempt_at)
                                      .where(db.outbound_messages.c.channel == "facebook")).all())
    assert db.aware(due["facebook"]) > db.utcnow() + dt.timedelta(minutes=16)  # a restart keeps the pause
    assert [r["attempts"] for r in box.listing() if r["channel"] == "facebook"] == [0, 0, 0]  # a limit is no failure
    assert ["rate limited by Meta (code 613)"] == [r["last_error"] for r in box.listing() if r["last_error"]]
    ig_send, ig_kinds = meta.senders("instagram", meta.instagram_client)
    assert box.deliver_one("instagram", ig_send, by_kind=ig_kinds).sent  # another channel is not held
    assert api.received()[-1]["path"].endswith("access_token=ig-token")


@pytest.mark.parametrize("code,status,expected", [
    (613, 400, "retry-wide"), (4, 403, "retry-wide"), (17, 400, "retry-wide"), (32, 400, "retry-wide"),
    (80001, 400, "retry-wide"), (80006, 400, "retry-wide"), (80002, 400, "retry-wide"), (368, 403, "retry-wide"),
    (2, 500, "retry"), (1, 400, "retry"), (None, 502, "retry"),
    (551, 400, "refused"), (10, 400, "refused"), (190, 400, "refused"), (100, 400, "refused"),
])
def test_graph_errors_as_the_outbox_reads_them(code, status, expected):
    result = type("Result", (), {"status_code": status, "headers": {},
                                 "json": lambda self: {"error": {"code": code, "message": "m"}}})()
    outcome = messenger.for_outbox(messenger.GraphError.of(result))
    if expected == "refused":
        assert isinstance(outcome, outbox.Refused) and f"code {code}" in str(outcome)
    else:
        assert isinstance(outcome, outbox.Retry) and outcome.channel_wide is (expected == "retry-wide")
        assert outcome.after >= (messenger.BLOCKED_WAIT if code == 368 else 1.0)


def test_the_wait_is_metas_estimate_or_retry_after_or_a_sane_default():
    def wait_for(headers):
        result = type("Result", (), {"status_code": 400, "headers": headers,
                                     "json": lambda self: {"error": {"code": 80006}}})()
        return messenger.GraphError.of(result).retry_after

    business = {"1": [{"type": "pages", "estimated_time_to_regain_access": 3},
                      {"type": "messenger", "estimated_time_to_regain_access": 9}]}
    assert wait_for({"X-Business-Use-Case-Usage": json.dumps(business)}) == 9 * 60
    assert wait_for({"X-Page-Usage": json.dumps({"call_count": 100, "estimated_time_to_regain_access": 2})}) == 120
    assert wait_for({"X-Business-Use-Case-Usage": json.dumps({"1": [{"estimated_time_to_regain_access": 10**6}]})}) \
        == messenger.MAX_RATE_LIMIT_WAIT
    assert wait_for({"X-App-Usage": json.dumps({"estimated_time_to_regain_access": 1})}) == 60
    assert wait_for({"retry-after": "42"}) == 42
    assert wait_for({"X-App-Usage": "not json"}) == messenger.RATE_LIMIT_WAIT
    assert wait_for({}) == messenger.RATE_LIMIT_WAIT


def test_an_instagram_crisis_dm_gets_its_crisis_reply_through_the_outbox_before_routine_ones(svc, box, api):
    meta = channel(api)
    for i in range(3):
        box.enqueue("instagram", f"ig-routine-{i}", f"routine {i}", "answer")
    event = message_event(p.ig_batch(p.ig_text("ig-crisis", "i want to kill myself")))
    assert event.channel == "instagram"
    asyncio.run(meta._message(event, rasa_turn("crisis", CRISIS_REPLY)))
    assert api.received() == []
    loop = loop_for(box, meta, "instagram")
    loop.start()
    try:
        assert wait_until(lambda: len(sent_texts(api)) == 4)
    finally:
        loop.stop()
    first = api.received()[0]
    assert first["body"]["recipient"]["id"] == "ig-crisis" and first["body"]["message"]["text"] == CRISIS_REPLY
    assert first["path"].endswith("access_token=ig-token")
    case = svc.cases.active_case("instagram", "ig-crisis")
    assert case and case["priority"] == "urgent"
    assert not api.received(lambda r: "thread_control" in r["path"])  # Instagram: no thread passed


def test_a_standby_crisis_takes_the_thread_back_before_its_reply_even_through_a_rate_limit(svc, box, api):
    meta = channel(api, inbox_app_id=INBOX)
    psid = "psid-held"
    case_id = svc.cases.open_case("facebook", psid, {"decision": "private", "intent": "disclose_symptoms",
                                                     "language": "en"}, "my results worry me")
    for i in range(2):
        box.enqueue("facebook", f"psid-other-{i}", f"routine {i}", "answer")
    throttled(api, limit_at=(1,))
    event = message_event(p.fb_batch(standby=[p.fb_text(psid, "i want to kill myself")]))
    assert event.standby
    asyncio.run(meta._message(event, rasa_turn("answer", "Rasa must not answer a held message")))
    send, by_kind = meta.senders("facebook", meta.client)
    for step in range(10):  # the clock moved on past each pause, nothing slept
        if len(sent_texts(api)) == 3:
            break
        box.deliver_one("facebook", send, by_kind=by_kind, now=db.utcnow() + dt.timedelta(minutes=5 * step))
    calls = [(r["path"].split("?")[0].rsplit("/", 1)[-1], r["status"], (r["body"].get("message") or {}).get("text"))
             for r in api.received()]
    assert calls[0][1] == 400  # throttled: the take and the reply wait together
    assert calls[1:3] == [("take_thread_control", 200, None), ("messages", 200, CRISIS_REPLY)]
    assert [c[2] for c in calls[3:]] == ["routine 0", "routine 1"]
    shown = svc.cases.show(case_id, "test")
    assert shown["priority"] == "urgent" and shown["messages"][-1]["text"] == "i want to kill myself"


def test_the_thread_goes_to_the_inbox_only_after_the_reply(svc, box, api):
    meta = channel(api, inbox_app_id=INBOX)
    private_reply = reply_for({"decision": "private", "intent": "", "language": "en"})
    event = message_event(p.fb_batch(p.fb_text("psid-new", "I need a refill of my metformin")))
    asyncio.run(meta._message(event, rasa_turn("private", private_reply)))
    case = svc.cases.active_case("facebook", "psid-new")
    assert case and api.received() == []
    send, by_kind = meta.senders("facebook", meta.client)
    while box.deliver_one("facebook", send, by_kind=by_kind).sent:
        pass
    calls = [r["path"].split("?")[0].rsplit("/", 1)[-1] for r in api.received()]
    assert calls == ["messages", "pass_thread_control"]
    passed = api.received()[1]["body"]
    assert passed["target_app_id"] == INBOX and passed["metadata"] == f"triage case {case['id']}"
    assert sorted(r["kind"] for r in box.listing()) == ["bot_reply", "pass_thread"]  # the staff view names both


@pytest.mark.parametrize("code,subcode", [(551, 1545041), (10, 2018278)])
def test_a_permanent_refusal_fails_and_opens_a_staff_case(svc, box, api, code, subcode):
    api.responder = lambda entry: (400, {"error": {"message": "(#551) This person isn't available right now.",
                                                   "type": "OAuthException", "code": code,
                                                   "error_subcode": subcode}}, {})
    meta = channel(api)
    event = message_event(p.fb_batch(p.fb_text("psid-gone", "when are you open?")))
    asyncio.run(meta._message(event, rasa_turn("answer", "We are open 8-18.")))
    send, by_kind = meta.senders("facebook", meta.client)
    assert not box.deliver_one("facebook", send, by_kind=by_kind).sent
    assert box.counts() == {"waiting": 0, "sent": 0, "failed": 1} and len(api.received()) == 1  # not retried
    failed = box.listing(states=["failed"])[0]
    assert f"code {code}, subcode {subcode}" in failed["last_error"]
    case = svc.cases.active_case("facebook", "psid-gone")
    assert case is not None
    note = svc.cases.show(case["id"], "test")["messages"][0]
    assert "could not be delivered on facebook" in note["text"]
    assert "8-18" not in note["text"]


def test_a_refused_private_reply_to_a_comment_notes_the_comments_case(svc, box, api):
    async def parse_message(text):
        return {"text": text, "triage": {"decision": "private", "intent": "disclose_symptoms", "language": "en",
                                         "confidence": 0.9, "reasons": []}}

    from types import SimpleNamespace

    app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(parse_message=parse_message)))
    meta = channel(api)
    event = [e for e in messenger.parse(p.fb_batch(changes=[p.fb_comment("author-9", "my HIV test came back")]))][0]
    asyncio.run(meta._comment(app, event))
    assert api.received() == []
    api.responder = lambda entry: (403, {"error": {"message": "(#10) Outside the allowed window", "code": 10,
                                                   "type": "OAuthException"}}, {})
    send, by_kind = meta.senders("facebook", meta.client)
    box.deliver_one("facebook", send, by_kind=by_kind)  # the public reply
    box.deliver_one("facebook", send, by_kind=by_kind)  # the private one
    public, private = api.received()
    assert private["body"]["recipient"] == {"comment_id": event.comment_id} and event.comment_id in public["path"]
    case = svc.cases.active_case("facebook_comment", "author-9")
    texts = [m for m in svc.cases.show(case["id"], "test")["messages"] if m["author"] == "system"]
    assert len(texts) == 1 and "could not be delivered" in texts[0]["text"]  # the public reply opens nothing
    assert svc.cases.active_case("facebook", event.comment_id) is None


def test_a_crisis_reply_goes_directly_when_the_channels_sender_failed_to_start(svc, box, api, monkeypatch):
    # A row queued while this process has no running sender would wait for another process:
    # the crisis reply must go out at once instead (channels/webhook.queue, outbox.sending).
    monkeypatch.setattr(outbox, "_loops", {})
    monkeypatch.setattr(outbox, "_unstarted", set())

    def down():
        raise RuntimeError("key store unavailable at start-up")

    meta = channel(api)
    monkeypatch.setattr(outbox, "shared", down)
    meta._start_senders()  # logs that the senders did not start
    monkeypatch.setattr(outbox, "shared", lambda: box)  # the database is back: rows could be queued again
    assert not outbox.sending("facebook") and not outbox.sending("instagram")
    event = message_event(p.fb_batch(p.fb_text("psid-alone", "i want to kill myself")))
    asyncio.run(meta._message(event, rasa_turn("crisis", CRISIS_REPLY)))
    assert sent_texts(api) == [CRISIS_REPLY]
    assert api.received()[0]["body"]["recipient"]["id"] == "psid-alone"
    assert box.counts().get(outbox.WAITING, 0) == 0  # nothing left waiting for a sender
    case = svc.cases.active_case("facebook", "psid-alone")
    assert case and case["priority"] == "urgent"
