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
from triage.rasa.tracker_store import EncryptedSQLTrackerStore

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


def counting_opens(store, monkeypatch):
    calls = []
    original = store.keys.open

    def open_(token, aad=""):
        calls.append(token)
        return original(token, aad=aad)

    monkeypatch.setattr(store.keys, "open", open_)
    return calls


def test_each_event_is_decrypted_once_per_process(store, monkeypatch):
    run(store.save(conversation()))
    opens = counting_opens(store, monkeypatch)
    first = run(store.retrieve("patient-1"))
    assert len(opens) == len(first.events) == 6  # the latest session: from SessionStarted on
    tracker = run(store.retrieve("patient-1"))
    assert len(opens) == 6  # served from memory
    assert [e.as_dict() for e in tracker.events] == [e.as_dict() for e in first.events]
    more = UserUttered("and one more thing", {"name": "greet", "confidence": 0.9})
    more.timestamp = first.events[-1].timestamp + 1
    tracker.update(more)
    run(store.save(tracker))
    again = run(store.retrieve("patient-1"))
    assert len(opens) == 6  # what this process saved it already knows
    assert again.latest_message.text == "and one more thing"


def test_the_memory_never_serves_rows_gone_or_altered_in_the_database(store):
    run(store.save(conversation("gone")))
    run(store.save(conversation("altered")))
    assert run(store.retrieve("gone")) and run(store.retrieve("altered"))  # both now in memory
    with store.engine.begin() as connection:  # as another replica's forget-me would
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = :r"), {"r": store.conversation_ref("gone")})
        row = connection.execute(sa.text("SELECT id, data FROM events WHERE sender_id = :r ORDER BY id DESC"),
                                 {"r": store.conversation_ref("altered")}).first()
        tampered = row.data[:-8] + ("A" * 8 if not row.data.endswith("A" * 8) else "B" * 8)
        connection.execute(sa.text("UPDATE events SET data = :d WHERE id = :i"), {"d": tampered, "i": row.id})
    assert run(store.retrieve("gone")) is None
    from triage.keys import DecryptionError
    with pytest.raises(DecryptionError):
        run(store.retrieve("altered"))


def test_the_memory_is_bounded():
    from triage.rasa.tracker_store import PlaintextCache

    cache = PlaintextCache(max_events=10)
    for n in range(5):
        cache.put(f"c{n}", {f"t{n}-{i}": "x" for i in range(4)})
    assert cache.get("c0") == {} and cache.get("c3") and cache.get("c4")
    assert sum(len(cache.get(f"c{n}")) for n in range(5)) <= 10


def test_sqlite_store_uses_the_write_ahead_log(tmp_path, keystore):
    store = store_for(f"sqlite:///{tmp_path / 'tracker.db'}", keystore)
    run(store.save(conversation()))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert run(store.retrieve("patient-1")).latest_message.text == CANARY


def test_only_the_latest_session_is_read_back_but_all_are_kept(store):
    old = (dt.datetime.now() - dt.timedelta(hours=3)).timestamp()
    first = conversation("patient-s", ts=old)
    run(store.save(first))
    tracker = run(store.retrieve("patient-s"))
    for offset, event in enumerate([ActionExecuted("action_session_start"), SessionStarted(),
                                    ActionExecuted("action_listen"),
                                    UserUttered("second visit", {"name": "greet", "confidence": 0.9})]):
        event.timestamp = old + 3600 + offset
        tracker.update(event)
    run(store.save(tracker))
    latest = run(store.retrieve("patient-s"))
    assert latest.latest_message.text == "second visit"
    assert [e.type_name for e in latest.events][:2] == ["session_started", "action"]
    assert CANARY not in [getattr(e, "text", None) for e in latest.events]
    full = run(store.retrieve_full_tracker("patient-s"))
    assert [getattr(e, "text", None) for e in full.events].count(CANARY) == 1
    assert len(full.events) == 7 + 4
    run(store.save(latest))  # nothing new: nothing written twice
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 11


def test_a_turn_writes_only_its_new_events_without_counting_them_again(store):
    run(store.save(conversation("patient-t", ts=dt.datetime.now().timestamp() - 60)))
    tracker = run(store.retrieve("patient-t"))
    statements = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    tracker.update(UserUttered("hello again", {"name": "greet", "confidence": 0.9}))
    run(store.save(tracker))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    run(store.save(tracker))  # nothing new
    assert not [s for s in statements if "count(" in s.lower()]  # the read this turn already said how many
    copy = tracker.copy()  # built elsewhere: counted, and still nothing written twice
    run(store.save(copy))
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 7 + 2
    # Forgotten while a turn is in flight: the turn's new event is kept, the forgotten ones
    # are not written back (counting the rows afresh would have found 0 and rewritten them all).
    tracker = run(store.retrieve("patient-t"))
    store.forget("patient-t")
    tracker.update(UserUttered("after", {"name": "greet", "confidence": 0.9}))
    run(store.save(tracker))
    assert [e.text for e in run(store.retrieve_full_tracker("patient-t")).events] == ["after"]
