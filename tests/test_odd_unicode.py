"""Odd Unicode reaches the same crisis handling as plain text (issue 15): a lone surrogate
(broken emoji) or a right-to-left override around "I want to kill myself" / "quiero
matarme", in a held (paused) conversation and in a new one, through the channels' edge
(channels.base.deliver) into handoff.intercept / handoff.escalate, and the spool."""
import asyncio
import logging

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from triage import db, handoff, spool, worker
from triage.decision import Decision
from triage.channels.base import deliver

SENTENCES = ["I want to kill myself", "quiero matarme"]


def variants(text):
    return {"surrogate": text + "\ud83d", "rlo": "\u202e" + text[::-1], "rlo_pdf": "\u202e" + text[::-1] + "\u202c"}


def send(text, sender):
    """One message through the channel edge; returns (replies, what Rasa received)."""
    received, out = [], CollectingOutputChannel()

    async def on_new_message(message):
        received.append(message.text)

    asyncio.run(deliver(on_new_message, UserMessage(text, out, sender, input_channel="rest")))
    return [m["text"] for m in out.messages], received


@pytest.mark.parametrize("text", SENTENCES)
@pytest.mark.parametrize("kind", ["surrogate", "rlo", "rlo_pdf"])
def test_in_a_held_conversation_the_crisis_is_answered_and_the_case_made_urgent(svc, text, kind):
    sender = f"held-{kind}"
    handoff.escalate(sender, "rest", Decision("private", "disclose_symptoms", language="en"),
                     "i think i might be pregnant")
    case = svc.cases.active_case("rest", sender)
    assert case["paused"] and case["priority"] == "normal"
    replies, received = send(variants(text)[kind], sender)
    assert len(replies) == 1 and replies[0].startswith("🚨") and "112" in replies[0].splitlines()[0]
    assert svc.cases.get(case["id"])["priority"] == "urgent"
    shown = svc.cases.show(case["id"], "nurse-1")
    assert text in shown["messages"][-1]["text"]  # recorded as the patient meant it


@pytest.mark.parametrize("text", SENTENCES)
@pytest.mark.parametrize("kind", ["surrogate", "rlo", "rlo_pdf"])
def test_in_a_new_conversation_rasa_gets_the_clean_text_and_its_escalation_is_recorded(svc, text, kind):
    from triage import redflags

    sender = f"new-{kind}"
    replies, received = send(variants(text)[kind], sender)
    assert replies == [] and len(received) == 1
    seen = received[0]
    assert text in seen and redflags.scan(seen)  # red flags (and so the decision) see the crisis
    # what utter_escalate does
    reply, case_id = handoff.escalate(sender, "rest", Decision("crisis", "crisis_self_harm", language="en"), seen)
    assert reply.startswith("🚨") and case_id is not None and not list(spool.directory().glob("*"))
    assert svc.cases.first_patient_message(case_id) == seen


@pytest.mark.parametrize("text", SENTENCES)
def test_the_model_reads_the_cleaned_variants_as_a_crisis(parser, text):
    from triage.text import clean

    for kind, raw in variants(text).items():
        assert parser.triage(clean(raw))["decision"] == "crisis", kind


def test_a_surrogate_spooled_before_the_fix_is_recorded_not_stuck(svc, keystore):
    """Files spooled by the old code hold the raw text: drain cleans it."""
    import json

    spool.directory().mkdir(parents=True)
    record = json.dumps({"sender_id": "p-1", "channel": "x_mention", "text": "I want to kill myself\ud83d",
                         "triage": {"decision": "crisis", "intent": "crisis_self_harm", "language": "en"}})
    spool.directory().joinpath("old.sealed").write_text(keystore.seal(record, aad="escalation-spool").token)
    assert worker.run_once(svc)["spooled_recorded"] == 1
    case = svc.cases.active_case("x_mention", "p-1")
    assert case["priority"] == "urgent" and svc.cases.first_patient_message(case["id"]).startswith("I want to kill")


def test_an_escalation_that_can_never_be_recorded_is_set_aside_with_a_critical_log_and_notice(
        svc, keystore, caplog):
    path = spool.put("p-2", "rest", {"decision": "crisis"}, "secret words", keys=keystore)
    given_up = []

    def poison(_):
        raise TypeError("cannot be recorded")

    with caplog.at_level(logging.ERROR):
        for _ in range(spool.MAX_TRIES - 1):
            assert spool.drain(poison, keys=keystore, give_up=given_up.append) == 0
        assert spool.pending() == 1 and not given_up
        spool.drain(poison, keys=keystore, give_up=given_up.append)
    assert spool.pending() == 0 and given_up == [path.stem]
    assert path.with_suffix(".failed").exists()
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and path.stem in critical[0]
    assert "secret" not in caplog.text and "p-2" not in caplog.text


def test_an_outage_never_sets_an_escalation_aside(svc, keystore):
    from sqlalchemy.exc import OperationalError

    spool.put("p-3", "rest", {"decision": "crisis"}, "words", keys=keystore)

    def down(_):
        raise OperationalError("select", {}, ConnectionRefusedError())

    for _ in range(spool.MAX_TRIES * 2):
        spool.drain(down, keys=keystore, give_up=pytest.fail)
    assert spool.pending() == 1


def test_the_worker_notifies_staff_with_the_spool_id_only(svc, keystore, monkeypatch):
    from triage.notify import Target

    svc.notifier.targets = [Target("http://127.0.0.1:9/staff", False)]
    worker.spool_failed_notice(svc, "0123abcd" * 4)
    from sqlalchemy import select

    with svc.audit.engine.connect() as connection:
        rows = connection.execute(select(db.outbox)).all()
    assert len(rows) == 1 and rows[0].kind == "spool_failed" and "0123abcd" * 4 in rows[0].payload


def test_triage_classify_cleans_each_line_as_the_channels_do():
    import io
    import json

    from triage.cli.classify import classify

    lines = "".join(json.dumps({"text": raw}) + "\n" for raw in variants("I want to kill myself").values())
    out, err = io.StringIO(), io.StringIO()
    assert classify(io.StringIO(lines), out, err) == 0, err.getvalue()
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["decision"] for row in rows] == ["crisis"] * 3
    assert all(row["text"].startswith("I want to kill myself") for row in rows)
    out.getvalue().encode("utf-8")  # printable: no lone surrogate left


def test_messenger_and_x_events_carry_the_cleaned_text():
    """Comments, standby messages and mentions are escalated with the event's text: cleaned at parse."""
    from tests import channel_payloads as p
    from triage.channels import messenger, x_events

    hidden = variants("I want to kill myself")
    assert x_events.parse(p.x_mention("9", hidden["rlo"]), p.X_USER)[0].text == "@clinic I want to kill myself"
    assert x_events.parse(p.x_dm("9", hidden["surrogate"]), p.X_USER)[0].text == "I want to kill myself\ufffd"
    events = messenger.parse(p.fb_batch(p.fb_text("1", hidden["surrogate"]),
                                        changes=[p.fb_comment("2", hidden["rlo_pdf"])]))
    assert [e.text for e in events] == ["I want to kill myself\ufffd", "I want to kill myself"]
