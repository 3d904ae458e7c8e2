"""Surge alerts (triage/surge.py) through the worker: one alert per burst, to a real
recording webhook, figures only, audited, then quiet for the cooldown."""
import datetime as dt

import pytest
from sqlalchemy import insert

from triage import db, surge, worker
from triage.notify import Target

SETTINGS = surge.SurgeSettings(factor=3, min_messages=20, cooldown_minutes=60, share_jump=0.25, baseline_weeks=4)


@pytest.fixture
def svc(make_services, db_url, webhook, monkeypatch):
    monkeypatch.setattr(worker, "surge_check", lambda s: surge.check(s, SETTINGS))
    return make_services(db_url, [Target(webhook.url, False)])


def messages(svc, count, at, decision="answer", channel="facebook"):
    """``count`` messages, one count row each, spread over the 50 minutes before ``at``."""
    rows = [{"ts": at - dt.timedelta(seconds=1 + i * 3000 // max(count, 1)), "channel": channel, "language": "en",
             "decision": decision, "reply_ms": 120} for i in range(count)]
    with svc.audit.engine.begin() as connection:
        connection.execute(insert(db.message_counts), rows)


def surge_posts(webhook):
    return webhook.received(lambda r: isinstance(r["body"], dict) and r["body"].get("type") == "triage.surge")


def test_a_burst_sends_one_alert_not_one_per_message(svc, webhook):
    now = db.utcnow()
    for week in range(1, 5):  # usually 4 messages in this hour of the week
        messages(svc, 4, now - dt.timedelta(days=7 * week))
    messages(svc, 30, now)  # > 3 x 4 and >= 20
    done = [worker.run_once(svc) for _ in range(3)]
    assert [d["surge_alerts"] for d in done] == [1, 0, 0]
    messages(svc, 30, db.utcnow())  # the burst goes on: still within the cooldown
    assert worker.run_once(svc)["surge_alerts"] == 0
    posts = surge_posts(webhook)
    assert len(posts) == 1
    body = posts[0]["body"]
    assert body["reasons"] == ["volume"] and body["figures"]["messages"] == 30
    assert body["figures"]["usual_messages"] == 4
    assert set(body) == {"type", "reasons", "figures", "at", "summary"}  # figures only
    alerts = [row for row in svc.audit.rows() if row["event"] == "surge_alert"]
    assert len(alerts) == 1 and alerts[0]["outcome"] == "volume"
    assert surge.recent_alert(svc.audit.engine, SETTINGS)["reasons"] == ["volume"]
    # After the cooldown the same figures alert again.
    later = db.utcnow() + dt.timedelta(minutes=61)
    messages(svc, 30, later)
    assert surge.check(svc, SETTINGS, now=later) == 1


def test_the_usual_rate_for_this_hour_and_the_minimum_hold_alerts_back(svc, webhook):
    now = db.utcnow()
    for week in range(1, 5):  # usually 10: 25 is not 3 times that
        messages(svc, 10, now - dt.timedelta(days=7 * week))
    messages(svc, 25, now)
    assert worker.run_once(svc)["surge_alerts"] == 0
    quiet = db.utcnow()
    assert surge.check(svc, surge.SurgeSettings(min_messages=40), now=quiet) == 0  # 25 is below the minimum
    assert surge_posts(webhook) == []


def test_a_jump_in_the_crisis_share_alerts_even_at_the_usual_volume(svc, webhook):
    now = db.utcnow()
    for week in range(1, 5):
        messages(svc, 20, now - dt.timedelta(days=7 * week))
    messages(svc, 14, now)
    messages(svc, 7, now, decision="crisis")  # 21 messages: usual volume, a third of them crises
    assert worker.run_once(svc)["surge_alerts"] == 1
    body = surge_posts(webhook)[0]["body"]
    assert body["reasons"] == ["crisis_share"]
    assert body["figures"]["crisis_share"] == pytest.approx(0.333) and body["figures"]["usual_crisis_share"] == 0


def test_slack_targets_get_the_summary_line(make_services, tmp_path, webhook):
    svc = make_services(f"sqlite:///{tmp_path / 'triage.db'}", [Target(webhook.url, True)])
    messages(svc, 25, db.utcnow())
    assert surge.check(svc, SETTINGS) == 1 and svc.notifier.deliver_due() == 1
    text = webhook.received()[0]["body"]["text"]
    assert text.startswith("⚠️ Inbox surge (volume): 25 messages in the last hour (usual 0)")


def test_settings_come_from_clinic_yml_and_are_checked():
    from triage import clinic

    assert surge.SurgeSettings.from_clinic(clinic.current()) == SETTINGS

    class Fake:
        def __init__(self, values):
            self.values = values

        def get(self, *path, default=None):
            return self.values

    with pytest.raises(ValueError, match="unknown setting"):
        surge.SurgeSettings.from_clinic(Fake({"factr": 3}))
    with pytest.raises(ValueError, match="factor > 0"):
        surge.SurgeSettings.from_clinic(Fake({"factor": 0}))
