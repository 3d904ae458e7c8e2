"""The audit log's hash chain, on SQLite and on the real PostgreSQL."""
import multiprocessing
import os

import pytest
from sqlalchemy import delete, select, update

from triage import db
from triage.audit import AuditLog
from triage.keys import KeyStore


@pytest.fixture
def log(db_url, keystore):
    return AuditLog(keystore, db.engine(db_url))


def fill(log, n=5):
    for i in range(n):
        log.append("escalated", case_id=f"case-{i}", channel="rest", intent="disclose_symptoms",
                   confidence=0.9, details={"i": i})


def test_append_and_verify(log):
    fill(log)
    result = log.verify()
    assert result.ok and result.entries == 5, str(result)


def test_payload_is_sealed_and_intent_not_in_clear(log):
    fill(log, 1)
    row = next(log.rows())
    assert "disclose_symptoms" not in repr(row)
    assert log.decrypt_payload(row)["intent"] == "disclose_symptoms"


def test_changed_field_is_caught_and_named(log):
    fill(log)
    with log.engine.begin() as c:
        c.execute(update(db.audit_log).where(db.audit_log.c.seq == 3).values(outcome="forged"))
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3 and "altered" in result.reason


def test_deleted_entry_is_caught_and_named(log):
    fill(log)
    with log.engine.begin() as c:
        c.execute(delete(db.audit_log).where(db.audit_log.c.seq == 2))
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 2 and "missing" in result.reason


def test_swapped_entries_are_caught(log):
    fill(log)
    with log.engine.begin() as c:
        rows = {r.seq: r._mapping for r in c.execute(select(db.audit_log).where(db.audit_log.c.seq.in_([2, 4])))}
        # Swap everything but the position: prev_hash is unique, so park one first.
        c.execute(update(db.audit_log).where(db.audit_log.c.seq == 2).values(prev_hash="parked"))
        for seq, other in ((4, 2), (2, 4)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
            c.execute(update(db.audit_log).where(db.audit_log.c.seq == seq).values(**values))
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 2


def test_changed_payload_is_caught(log, keystore):
    fill(log)
    forged = keystore.seal('{"intent": "greet", "details": {}}', aad="audit")
    with log.engine.begin() as c:
        c.execute(update(db.audit_log).where(db.audit_log.c.seq == 4).values(payload=forged.token))
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 4


def test_rotation_keeps_the_chain_and_old_entries_readable(log, keystore):
    fill(log, 3)
    keystore.add_master_key()
    assert log.rewrap_all() == 3
    assert log.verify().ok
    reloaded = AuditLog(KeyStore.load_file(keystore.path), log.engine)
    assert [reloaded.decrypt_payload(r)["details"]["i"] for r in reloaded.rows()] == [0, 1, 2]


def test_export_is_decrypted_and_audited(log):
    fill(log, 2)
    rows = log.export(None, None, actor="staff:ana")
    assert [r["intent"] for r in rows] == ["disclose_symptoms"] * 2
    last = list(log.rows())[-1]
    assert last["event"] == "exported" and last["actor"] == "staff:ana"
    assert log.verify().ok


def test_unknown_event_is_refused(log):
    with pytest.raises(ValueError):
        log.append("made_up")


def _writer(url, keyring, n):
    from triage import db as worker_db
    from triage.audit import AuditLog as WorkerLog
    from triage.keys import KeyStore as WorkerKeys

    log = WorkerLog(WorkerKeys.load_file(keyring), worker_db.engine(url))
    for i in range(n):
        log.append("notified", case_id=f"p{os.getpid()}-{i}")


def test_two_processes_appending_500_each_make_one_valid_chain(log, db_url, keystore):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(db_url, keystore.path, 500)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
        assert w.exitcode == 0
    result = log.verify()
    assert result.ok and result.entries == 1000, str(result)
