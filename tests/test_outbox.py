"""triage/outbox.py: the priority outbox, against the recording fake X API on 127.0.0.1.
No Rasa server: the X output channel, the sender loop and the database as the server uses them."""
import asyncio
import io
import threading
import time
from argparse import Namespace

import pytest
from sqlalchemy import select

from tests.fakes import Recorder
from triage import db, outbox
from triage.channels import x_dm

PATIENT = "4242424242"


@pytest.fixture
def api():
    fake = Recorder().start()
    yield fake
    fake.stop()


def x_client(api):
    return x_dm.XClient(api.url, auth=None)


def delivered(api):
    return [r["body"]["text"] for r in api.received(lambda r: r["path"].endswith("/messages") and r["status"] == 200)]


def wait_until(check, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def rate_limited(api, limit_at=(1, 9), reset_in=1):
    """X's 429: the requests numbered ``limit_at`` are refused with x-rate-limit-reset ``reset_in`` s ahead."""
    count = {"n": 0}
    lock = threading.Lock()

    def respond(entry):
        with lock:
            count["n"] += 1
            n = count["n"]
        if n in limit_at:
            return 429, {"title": "Too Many Requests", "status": 429}, {
                "x-rate-limit-reset": str(int(time.time()) + reset_in), "x-rate-limit-remaining": "0"}
        return 200, {"data": {"dm_conversation_id": "1-2", "dm_event_id": str(n)}}, {}

    api.responder = respond


def test_crisis_replies_go_first_through_a_rate_limit_and_a_restart_loses_none(svc, api, monkeypatch):
    box = outbox.Outbox(svc.keys, svc.cases.engine)
    monkeypatch.setattr(outbox, "shared", lambda: box)
    rate_limited(api)
    crisis_at = {4, 11, 18}
    texts = [f"{'CRISIS' if i in crisis_at else 'routine'} reply {i}" for i in range(20)]
    output = x_dm.XOutput(x_client(api))

    async def handler_sends():
        # as Rasa calls it from the webhook's processing: must return at once, whatever X says
        for i, text in enumerate(texts):
            started = time.monotonic()
            await output.send_text_message(f"{PATIENT}{i}", text,
                                           triage_decision="crisis" if i in crisis_at else "answer")
            assert time.monotonic() - started < 0.5

    asyncio.run(handler_sends())
    assert api.received() == []  # nothing is sent by the handler itself
    with db.reading(svc.cases.engine) as connection:
        stored = connection.execute(select(db.outbound_messages.c.body_sealed)).scalars().all()
    assert len(stored) == 20 and not any(w in token for token in stored for w in ("routine", "CRISIS"))  # sealed at rest

    loop = outbox.SenderLoop(box, "x", x_client(api).send_dm_once, poll=0.1)
    loop.start()
    assert wait_until(lambda: len(delivered(api)) >= 6)
    loop.stop()
    assert not loop.is_alive()
    sent_before_restart = len(delivered(api))
    assert delivered(api)[:3] == [texts[i] for i in sorted(crisis_at)]  # crisis first, through the 429
    assert api.received()[0]["status"] == 429

    # a restart: a new process's outbox and loop on the same database
    restarted = outbox.Outbox(svc.keys, svc.cases.engine)
    loop = outbox.SenderLoop(restarted, "x", x_client(api).send_dm_once, poll=0.1)
    loop.start()
    try:
        assert wait_until(lambda: len(delivered(api)) >= 20, timeout=40), delivered(api)
    finally:
        loop.stop()
    sent = delivered(api)
    assert sorted(sent) == sorted(texts) and len(sent) == 20 and sent_before_restart < 20  # each once
    assert [s for s in sent if "routine" in s] == [t for t in texts if "routine" in t]  # in order
    assert [r["status"] for r in api.received()].count(429) == 2
    rows = restarted.listing()
    assert {r["state"] for r in rows} == {"sent"} and not any(w in str(r) for r in rows for w in ("routine", "CRISIS"))
    with db.reading(svc.cases.engine) as connection:
        assert connection.execute(select(db.outbound_messages.c.body_sealed)).scalars().all() == [None] * 20


def test_a_crisis_queued_during_a_rate_limit_overtakes_the_waiting_routine_replies(svc, api):
    box = outbox.Outbox(svc.keys, svc.cases.engine)
    rate_limited(api, limit_at=(1,), reset_in=2)
    for i in range(3):
        box.enqueue("x", PATIENT, f"routine {i}", "answer")
    send = x_client(api).send_dm_once
    first = box.deliver_one("x", send)
    assert not first.sent and first.wait > 0  # limited: the channel waits, nothing slept
    assert box.deliver_one("x", send).wait > 0  # still paused: no request made
    assert len(api.received()) == 1
    box.enqueue("x", PATIENT, "CRISIS now", "crisis")
    loop = outbox.SenderLoop(box, "x", send, poll=0.1)
    loop.start()
    try:
        assert wait_until(lambda: len(delivered(api)) == 4)
    finally:
        loop.stop()
    assert delivered(api) == ["CRISIS now", "routine 0", "routine 1", "routine 2"]


def test_a_reply_that_finally_fails_opens_or_updates_the_staff_case(svc, api):
    box = outbox.Outbox(svc.keys, svc.cases.engine,
                        on_failure=lambda info, recipient, reason: outbox.escalate_failure(svc, info, recipient, reason))
    api.responder = lambda entry: (403, {"title": "Forbidden", "detail": "You cannot send messages to this user.",
                                         "status": 403}, {})
    box.enqueue("x", PATIENT, "call 112 now", "crisis", language="en")
    box.deliver_one("x", x_client(api).send_dm_once)
    case = svc.cases.active_case("x", PATIENT)
    assert case is not None and case["priority"] == "urgent"
    note = svc.cases.show(case["id"], "test")["messages"][0]["text"]
    assert "could not be delivered" in note and "cannot send messages to this user" in note and "112" not in note
    failed = box.listing(states=["failed"])
    assert len(failed) == 1 and "HTTP 403" in failed[0]["last_error"]
    assert "reply_failed" in [r["event"] for r in svc.audit.rows()]
    # a second failure for the same patient goes to the same case, as the system's note
    box.enqueue("x", PATIENT, "routine answer", "answer")
    box.deliver_one("x", x_client(api).send_dm_once)
    messages = svc.cases.show(case["id"], "test")["messages"]
    assert svc.cases.active_case("x", PATIENT)["id"] == case["id"] and messages[-1]["author"] == "system"


def test_network_errors_are_retried_then_given_up(svc, monkeypatch):
    failures = []
    box = outbox.Outbox(svc.keys, svc.cases.engine, on_failure=lambda info, r, reason: failures.append(reason))
    x_down = x_dm.XClient("http://127.0.0.1:9", auth=None)  # nothing listens on the discard port
    box.enqueue("x", PATIENT, "hello", "answer")
    now = db.utcnow()
    import datetime as dt
    for attempt in range(outbox.MAX_ATTEMPTS):
        box.deliver_one("x", x_down.send_dm_once, now=now + dt.timedelta(hours=attempt + 1))
    assert len(failures) == 1 and "gave up after" in failures[0]
    assert box.counts() == {"waiting": 0, "sent": 0, "failed": 1}


def test_cli_outbox_list_shows_states_and_reasons_never_text(svc, api):
    from triage.cli.reports import outbox_command

    box = outbox.Outbox(svc.keys, svc.cases.engine)
    box.enqueue("x", PATIENT, "my secret words", "private")
    box.enqueue("x", PATIENT, "the crisis words", "crisis")
    api.responder = lambda entry: (200, {}, {})
    box.deliver_one("x", x_client(api).send_dm_once)  # the crisis one
    out = io.StringIO()
    assert outbox_command(Namespace(action="list", state=None, limit=100), out) == 0
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[1].split()[1:3] == ["waiting", "private"] and lines[2].split()[1:3] == ["sent", "crisis"]
    assert "1 waiting, 1 sent, 0 failed" in text
    assert "words" not in text and PATIENT not in text
