"""Incident notices (triage/incidents.py): appended to the chosen replies while active,
gone after they end, never before the crisis reply's emergency numbers; audited."""
import datetime as dt

import pytest

from triage import db, incidents
from triage.audit import AuditLog
from triage.clinic import current
from triage.replies import Replies, reply_for

TEXTS = {"en": "Our phone lines are down until 14:00.", "de": "Unsere Telefone sind bis 14 Uhr gestört.",
         "es": "Nuestras líneas están caídas hasta las 14:00.", "bg": "Телефоните ни не работят до 14:00."}
ROUTINE = {"decision": "answer", "intent": "ask_contact", "confidence": 0.97}


@pytest.fixture
def notices(keystore, db_url, monkeypatch):
    monkeypatch.setenv("TRIAGE_DB_URL", db_url)
    incidents.invalidate()
    yield incidents.Notices(AuditLog(keystore, db.engine(db_url)))
    incidents.invalidate()


def window(minutes_before=5, minutes_after=60):
    now = db.utcnow()
    return now - dt.timedelta(minutes=minutes_before), now + dt.timedelta(minutes=minutes_after)


def test_a_routine_notice_is_added_in_every_language_while_active_and_not_after(notices):
    before = {lang: reply_for({**ROUTINE, "language": lang}) for lang in TEXTS}
    notice_id = notices.create(TEXTS, "routine", *window(), actor="admin:ana")
    for lang, text in TEXTS.items():
        reply = reply_for({**ROUTINE, "language": lang})
        assert reply.startswith(before[lang]) and reply.endswith(text), lang
    crisis = reply_for({"decision": "crisis", "intent": "crisis_self_harm", "language": "en"})
    assert TEXTS["en"] not in crisis  # routine scope only
    notices.end(notice_id, actor="admin:ana")
    for lang, text in TEXTS.items():
        assert reply_for({**ROUTINE, "language": lang}) == before[lang], lang
    events = [row["event"] for row in notices.audit.rows()]
    assert events == ["notice_created", "notice_ended"]
    assert notices.audit.verify().ok


def test_the_crisis_reply_still_starts_with_the_emergency_number(notices):
    notices.create(TEXTS, "all", *window(), actor="admin:ana")
    for lang, text in TEXTS.items():
        plain = Replies(current(), lang)._facts()
        crisis = reply_for({"decision": "crisis", "intent": "crisis_self_harm", "language": lang})
        assert crisis.startswith("🚨") and crisis.index(plain["emergency"]) < 80, lang
        assert crisis.index(plain["crisis_phone"]) < crisis.index(text), lang
        assert crisis.endswith(text)
        private = reply_for({"decision": "private", "intent": "disclose_symptoms", "language": lang})
        assert private.endswith(text)
        public = Replies(current(), lang).phrase("public_crisis")
        assert public.index(plain["emergency"]) < public.index(text)


def test_scopes_keep_to_their_replies(notices):
    notices.create(TEXTS, "public", *window(), actor="admin:ana")
    assert TEXTS["en"] not in reply_for({**ROUTINE, "language": "en"})
    assert TEXTS["en"] not in reply_for({"decision": "private", "intent": "disclose_symptoms", "language": "en"})
    assert Replies(current(), "en").phrase("public_dm_us").endswith(TEXTS["en"])
    assert Replies(current(), "de").phrase("public_private").endswith(TEXTS["de"])


def test_a_future_or_ended_notice_is_not_added(notices):
    now = db.utcnow()
    notices.create(TEXTS, "all", now + dt.timedelta(hours=1), now + dt.timedelta(hours=2), actor="admin:ana")
    notices.create(TEXTS, "all", now - dt.timedelta(hours=2), now - dt.timedelta(hours=1), actor="admin:ana")
    assert TEXTS["en"] not in reply_for({**ROUTINE, "language": "en"})


def test_changing_a_notice_is_validated_and_audited(notices):
    notice_id = notices.create(TEXTS, "routine", *window(), actor="admin:ana")
    with pytest.raises(incidents.NoticeError, match="bg text is missing"):
        notices.change(notice_id, {**TEXTS, "bg": "  "}, "routine", *window(), actor="admin:ana")
    with pytest.raises(incidents.NoticeError, match="longer than"):
        notices.create({**TEXTS, "en": "x" * 281}, "routine", *window(), actor="admin:ana")
    with pytest.raises(incidents.NoticeError, match="invisible"):
        notices.create({**TEXTS, "en": "down\u202e until 14:00"}, "routine", *window(), actor="admin:ana")
    with pytest.raises(incidents.NoticeError, match="unknown scope"):
        notices.create(TEXTS, "everything", *window(), actor="admin:ana")
    with pytest.raises(incidents.NoticeError, match="end must be after"):
        start, end = window()
        notices.create(TEXTS, "routine", end, start, actor="admin:ana")
    changed = {**TEXTS, "en": "Phones are back at 15:00."}
    notices.change(notice_id, changed, "routine", *window(), actor="admin:bo")
    assert reply_for({**ROUTINE, "language": "en"}).endswith("Phones are back at 15:00.")
    entries = [(row["event"], row["actor"]) for row in notices.audit.rows()]
    assert entries == [("notice_created", "admin:ana"), ("notice_changed", "admin:bo")]


def test_an_unreadable_database_means_no_notice_not_a_failed_reply(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_DB_URL", "postgresql://nobody@127.0.0.1:1/none")
    incidents.invalidate()
    try:
        reply = reply_for({"decision": "crisis", "intent": "crisis_self_harm", "language": "en"})
        assert reply.startswith("🚨") and "112" in reply
    finally:
        incidents.invalidate()


def test_a_notice_made_by_another_process_reaches_replies_without_them_waiting(notices, monkeypatch):
    import json
    import time

    from sqlalchemy import insert

    monkeypatch.setattr(incidents, "CACHE_SECONDS", 0.2)
    reply_for({**ROUTINE, "language": "en"})  # the cache is warm
    start, end = window()
    with notices.engine.begin() as connection:  # as the console does, in its own process
        connection.execute(insert(db.incident_notices).values(
            id="nother", scope="routine", texts=json.dumps(TEXTS), starts_at=start, ends_at=end,
            created_by="admin:ana", created_at=start, updated_at=start))
    deadline = time.time() + 5
    while not reply_for({**ROUTINE, "language": "en"}).endswith(TEXTS["en"]):
        assert time.time() < deadline, "the notice never reached the replies"
        time.sleep(0.05)
