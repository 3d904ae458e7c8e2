"""The encrypted tracker store on SQLite and the real PostgreSQL."""
import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from tests.conftest import empty_pg
from triage.keys import KeyStore
from triage.tracker_store import EncryptedSQLTrackerStore

DOMAIN = Domain.load("domain.yml")
CANARY = "zebra-7741 my chemo starts monday"


def store_for(db_url, keystore):
    if db_url.startswith("sqlite"):
        return EncryptedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db_url[len("sqlite:///"):], keys=keystore)
    url = sa.engine.make_url(db_url)
    empty_pg(db_url)  # each test starts with an empty table
    return EncryptedSQLTrackerStore(domain=DOMAIN, dialect="postgresql", host=url.host, port=url.port,
                                    db=url.database, username=url.username, keys=keystore)


def conversation(sender="patient-1", ts=None):
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    base = ts or dt.datetime.now().timestamp()
    for offset, event in enumerate([
            ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
            UserUttered(CANARY, {"name": "disclose_diagnosis_results", "confidence": 0.9},
                        parse_data={"intent": {"name": "disclose_diagnosis_results"}, "text": CANARY}),
            ActionExecuted("action_escalate"), SlotSet("language", "en"), ConversationPaused()]):
        event.timestamp = base + offset
        tracker.update(event)
    return tracker


def run(coro):
    return asyncio.get_event_loop().run_until_complete(coro) if False else asyncio.run(coro)


@pytest.fixture
def store(db_url, keystore):
    return store_for(db_url, keystore)


def test_round_trip_keeps_state(store):
    run(store.save(conversation()))
    tracker = run(store.retrieve("patient-1"))
    assert tracker.latest_message.text == CANARY
    assert tracker.is_paused() and tracker.get_slot("language") == "en"


def test_nothing_readable_at_rest(store):
    run(store.save(conversation()))
    with store.engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(sa.text("SELECT * FROM events"))]
    assert rows
    dump = repr(rows)
    for secret in ("zebra-7741", "chemo", "disclose_diagnosis_results", "patient-1", "action_escalate"):
        assert secret not in dump
    assert all(r["intent_name"] is None and r["action_name"] is None for r in rows)
    assert all(r["data"].startswith("v1.") for r in rows)


def test_rows_cannot_be_moved_between_conversations(store):
    run(store.save(conversation("a")))
    run(store.save(conversation("b")))
    ref_a, ref_b = store.conversation_ref("a"), store.conversation_ref("b")
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE events SET sender_id = :b WHERE sender_id = :a"), {"a": ref_a, "b": ref_b})
    from triage.keys import DecryptionError
    with pytest.raises(DecryptionError):
        run(store.retrieve("b"))


def test_rotation_keeps_old_conversations_readable(store, keystore):
    run(store.save(conversation()))
    keystore.add_master_key()
    assert run(store.retrieve("patient-1")).latest_message.text == CANARY
    assert store.rewrap_all() > 0
    assert store.rewrap_all() == 0
    fresh = store_for_same(store, KeyStore.load_file(keystore.path))
    assert run(fresh.retrieve("patient-1")).latest_message.text == CANARY


def store_for_same(store, keys):
    clone = EncryptedSQLTrackerStore.__new__(EncryptedSQLTrackerStore)
    clone.__dict__.update(store.__dict__)
    clone.keys = keys
    return clone


def test_purge_and_forget_leave_other_conversations(store):
    old = (dt.datetime.now() - dt.timedelta(days=40)).timestamp()
    run(store.save(conversation("old", ts=old)))
    run(store.save(conversation("recent")))
    run(store.save(conversation("leaving")))
    assert store.purge_older_than(30) == 7
    assert run(store.retrieve("old")) is None
    assert store.forget("leaving") == 7
    assert run(store.retrieve("leaving")) is None
    assert run(store.retrieve("recent")).latest_message.text == CANARY


def test_missing_key_fails_at_start(tmp_path, monkeypatch):
    from triage import keys
    from triage.keys import KeyStoreError

    monkeypatch.delenv("TRIAGE_MASTER_KEY_FILE", raising=False)
    monkeypatch.delenv("TRIAGE_MASTER_KEY", raising=False)
    keys.reset_default()
    with pytest.raises(KeyStoreError):
        EncryptedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    keys.reset_default()
