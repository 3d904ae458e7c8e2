"""Cases opened before TRIAGE_STAFF_WEBHOOKS was set get their staff notice from the worker, once."""
import datetime as dt

from sqlalchemy import update

from triage import db, handoff, worker
from triage.decision import Decision
from triage.notify import Notifier, Target

PRIVATE = {"decision": "private", "intent": "disclose_symptoms", "confidence": 0.9, "language": "en"}
CRISIS = {"decision": "crisis", "intent": "crisis_overdose", "confidence": 1.0, "language": "en"}


def escalated(sender_id, channel, decision, text):
    """The case id of an escalation through the one public path."""
    reply, case_id = handoff.escalate(sender_id, channel, Decision.from_dict(decision), text)
    assert reply and case_id
    return case_id


def age(svc, case_id, minutes=10):
    with svc.cases.engine.begin() as connection:
        connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(
            created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes)))


def test_cases_opened_without_webhooks_are_announced_once_they_are_set(svc, webhook):
    urgent = escalated("p-1", "rest", CRISIS, "i took all my pills")  # no webhook: no notice
    normal = escalated("p-2", "x", PRIVATE, "my knee")
    resolved = escalated("p-3", "x", PRIVATE, "my back")
    svc.cases.resolve(resolved, "ana", "contacted")
    for case_id in (urgent, normal, resolved):
        age(svc, case_id)
    assert worker.run_once(svc)["announced"] == 0  # still no webhook

    svc.notifier = Notifier(svc.audit, [Target(f"{webhook.url}/g", False), Target(f"{webhook.url}/s", True)])
    done = worker.run_once(svc)
    assert done["announced"] == 4 and done["delivered"] == 4
    generic = {r["body"]["case_id"]: r["body"] for r in webhook.received(lambda r: r["path"] == "/g")}
    assert set(generic) == {urgent, normal}  # a resolved case needs nobody
    assert generic[urgent]["priority"] == "urgent" and generic[urgent]["type"] == "triage.case_opened"
    assert "URGENT" in " ".join(r["body"]["text"] for r in webhook.received(lambda r: r["path"] == "/s"))
    assert all(b"pills" not in r["raw"] for r in webhook.received())

    assert worker.run_once(svc)["announced"] == 0  # once
    assert len(webhook.received()) == 4


def test_a_webhook_added_later_hears_of_open_cases_the_first_one_already_had(svc, webhook):
    svc.notifier = Notifier(svc.audit, [Target(f"{webhook.url}/first", False)])
    case_id = escalated("p-1", "rest", PRIVATE, "my knee")  # notice queued as it opens
    age(svc, case_id)
    assert worker.run_once(svc)["announced"] == 0
    svc.notifier = Notifier(svc.audit, [Target(f"{webhook.url}/first", False), Target(f"{webhook.url}/second", False)])
    assert worker.run_once(svc)["announced"] == 1
    assert [r["path"] for r in webhook.received()] == ["/first", "/second"]


def test_a_case_just_opened_is_left_to_the_process_that_opened_it(svc, webhook):
    """Between a case and its notice (two writes) the worker must not queue a second notice."""
    svc.notifier = Notifier(svc.audit, [Target(f"{webhook.url}/g", False)])
    svc.cases.open_case("rest", "p-1", PRIVATE, "my knee")  # its notice not queued yet
    assert worker.run_once(svc)["announced"] == 0
    assert svc.notifier.announce_unnotified(now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)) == 1
