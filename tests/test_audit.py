"""The audit log's chain, counter and signed checkpoints, on SQLite and on the real PostgreSQL."""
import json
import multiprocessing
import os

import pytest
from sqlalchemy import delete, insert, select, update

from triage import db
from triage.audit import GENESIS, MAC_PREFIX, AuditLog, Checkpoint, CheckpointFile, chain_hash
from triage.keys import KeyStore


@pytest.fixture
def checkpoints(tmp_path):
    return tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture
def log(db_url, keystore, checkpoints):
    return AuditLog(keystore, db.engine(db_url), checkpoints=checkpoints)


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


def _writer(url, keyring, checkpoints, n):
    from triage import db as worker_db
    from triage.audit import AuditLog as WorkerLog
    from triage.keys import KeyStore as WorkerKeys

    log = WorkerLog(WorkerKeys.load_file(keyring), worker_db.engine(url), checkpoints=checkpoints)
    for i in range(n):
        log.append("notified", case_id=f"p{os.getpid()}-{i}")


def test_two_processes_appending_500_each_make_one_valid_chain(log, db_url, keystore, checkpoints):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(db_url, keystore.path, checkpoints, 500)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
        assert w.exitcode == 0
    result = log.verify()
    # every 100th entry was checkpointed, by whichever process wrote it
    assert result.ok and result.entries == 1000 and result.checkpoint_seq == 1000, str(result)


# -- what someone with write access to the database, but not the key store, can do ----------

def entries(log):
    return list(log.rows())


def delete_from(log, seq):
    with log.engine.begin() as c:
        c.execute(delete(db.audit_log).where(db.audit_log.c.seq >= seq))


def set_counter(log, **values):
    with log.engine.begin() as c:
        c.execute(update(db.audit_head).values(**values))


def rewrite_with_plain_hashes(log, seq, **change):
    """Edits entry ``seq``, then recomputes every later hash as the log did before the MAC
    (SHA-256 of the canonical entry + prev_hash), and moves the counter along."""
    rows = entries(log)
    prev = rows[seq - 2]["hash"] if seq > 1 else GENESIS
    with log.engine.begin() as c:
        for row in rows[seq - 1:]:
            row.update(change if row["seq"] == seq else {})
            row["prev_hash"] = prev
            row["hash"] = prev = chain_hash(row, prev)
            c.execute(update(db.audit_log).where(db.audit_log.c.seq == row["seq"])
                      .values(**{k: v for k, v in row.items() if k != "seq"}))
        c.execute(update(db.audit_head).values(last_hash=prev))


def test_intact_log_with_a_checkpoint_verifies_without_warnings(log, checkpoints):
    fill(log)
    assert log.verify(checkpoint=True).ok
    result = log.verify()
    assert result.ok and result.checkpoint_seq == 5 and not result.warnings, str(result)
    assert all(row["hash"].startswith(MAC_PREFIX) for row in entries(log))
    assert len(checkpoints.read_text().splitlines()) == 1


def test_missing_checkpoint_file_is_a_warning(log, checkpoints):
    fill(log)
    result = log.verify()
    assert result.ok and "no checkpoint file" in str(result) and str(checkpoints) in str(result)


def test_deleted_tail_is_caught_by_the_counter(log):
    fill(log)
    delete_from(log, 4)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 4, str(result)
    assert "entries 4..5 are missing" in result.reason


def test_sequence_numbers_are_not_reused_after_a_deleted_tail(log):
    fill(log)
    delete_from(log, 5)
    assert log.append("notified") == 6
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 5 and "missing" in result.reason, str(result)


def test_cut_with_the_counter_moved_back_is_caught_by_the_checkpoint(log):
    fill(log)
    log.verify(checkpoint=True)
    delete_from(log, 4)
    set_counter(log, last_seq=3, last_hash=entries(log)[-1]["hash"])
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 4, str(result)
    assert "entries 4..5 are missing: the log was cut short after the last checkpoint" in result.reason


def test_deleting_everything_is_caught(log):
    fill(log)
    log.verify(checkpoint=True)
    delete_from(log, 1)
    result = log.verify()
    assert not result.ok and "all 5 entries are missing" in result.reason, str(result)
    with log.engine.begin() as c:  # the counter too: the checkpoint file still knows
        c.execute(delete(db.audit_head))
    result = log.verify()
    assert not result.ok and result.entries == 0 and "all 5 entries are missing" in result.reason, str(result)


def test_rewrite_with_recomputed_plain_hashes_is_caught(log):
    fill(log)
    rewrite_with_plain_hashes(log, 3, outcome="forged")
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3 and "MAC mismatch" in result.reason, str(result)


def test_whole_log_rewritten_with_plain_hashes_and_counter_is_caught_by_the_checkpoint(log):
    fill(log)
    log.verify(checkpoint=True)
    rewrite_with_plain_hashes(log, 1, actor="staff:someone-else")
    set_counter(log, mac_from=1000)  # as if the log had never been MAC'd
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 1 and "MAC mismatch" in result.reason, str(result)


def test_forged_checkpoint_is_caught(log, checkpoints):
    fill(log)
    log.verify(checkpoint=True)
    line = json.loads(checkpoints.read_text())
    line.update(seq=9, signature="0" * 64)
    with open(checkpoints, "a") as handle:
        handle.write(json.dumps(line) + "\n")
    result = log.verify()
    assert not result.ok and "forged" in result.reason, str(result)


def test_checkpoint_every_n_appends_and_other_key_stores_lines_are_skipped(db_url, keystore, checkpoints, tmp_path):
    log = AuditLog(keystore, db.engine(db_url), checkpoints=checkpoints, checkpoint_every=2)
    other = KeyStore.create_file(tmp_path / "other" / "master.json")  # another deployment's, same file
    CheckpointFile(checkpoints, other.derived_key("audit-checkpoint")).write(
        Checkpoint("another-log", 50, "mac:x", 1, "2026-01-01T00:00:00+00:00"))
    fill(log, 5)
    assert [json.loads(line)["seq"] for line in checkpoints.read_text().splitlines()] == [50, 2, 4]
    result = log.verify()
    assert result.ok and result.checkpoint_seq == 4, str(result)


def test_entries_from_before_the_mac_still_verify_and_the_log_continues_with_it(log):
    sealed = log.keys.seal(json.dumps({"intent": None, "details": {}}), aad="audit")
    prev = GENESIS
    with log.engine.begin() as c:  # the old format: plain hashes, no counter row
        for seq in (1, 2, 3):
            row = {"seq": seq, "ts": f"2026-01-0{seq}T00:00:00+00:00", "event": "notified", "actor": "system",
                   "case_id": None, "channel": "rest", "confidence": None, "outcome": "ok",
                   "key_id": sealed.key_id, "payload": sealed.token, "prev_hash": prev}
            row["hash"] = prev = chain_hash(row, prev)
            c.execute(insert(db.audit_log).values(**row))
    result = log.verify()
    assert result.ok and result.entries == 3 and "predate" in str(result), str(result)
    fill(log, 2)
    assert [row["hash"].startswith(MAC_PREFIX) for row in entries(log)] == [False] * 3 + [True] * 2
    assert log.verify(checkpoint=True).ok and log.verify().checkpoint_seq == 5
    rewrite_with_plain_hashes(log, 2, outcome="forged")  # the old entries are anchored by the MAC'd ones now
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 4 and "MAC mismatch" in result.reason, str(result)


def test_cli_verify_checkpoints_an_intact_log_and_exits_non_zero_on_a_cut(log, checkpoints, monkeypatch):
    import argparse
    import io
    from types import SimpleNamespace

    from triage.cli.audit import audit_command

    monkeypatch.setattr("triage.services.default", lambda: SimpleNamespace(audit=log))
    fill(log)
    out = io.StringIO()
    assert audit_command(argparse.Namespace(action="verify"), out) == 0
    assert "warning: no checkpoint file" in out.getvalue() and "checkpoint of seq=5 written" in out.getvalue()
    delete_from(log, 5)
    set_counter(log, last_seq=4, last_hash=entries(log)[-1]["hash"])
    out = io.StringIO()
    assert audit_command(argparse.Namespace(action="verify"), out) == 3
    assert "entry 5 is missing: the log was cut short after the last checkpoint" in out.getvalue()


@pytest.mark.parametrize("changes", [
    {}, {"case_id": None, "channel": None, "confidence": None, "payload": None},
    {"actor": "staff:zoë \"q\" \\ \u2028", "outcome": "ok\n\ttab", "confidence": 0.1 + 0.2},
    {"confidence": 1e-05, "seq": 2 ** 40}, {"confidence": 1}, {"confidence": float("nan")}, {"seq": True},
])
def test_canonical_form_is_the_json_one(changes):
    from triage.audit import canonical, canonical_json

    row = {"seq": 7, "ts": "2026-12-04T15:50:14.123456+00:00", "event": "escalated", "actor": "system",
           "case_id": "c-1", "channel": "rest", "confidence": 0.9, "outcome": "ok",
           "payload": "v1.k1.wrapped.nonce.ciphertext", **changes}
    assert canonical(row) == canonical_json(row)


def test_the_chain_needs_the_key_store_that_wrote_it(log, tmp_path):
    fill(log)
    stranger = KeyStore.create_file(tmp_path / "stranger" / "master.json")
    result = AuditLog(stranger, log.engine, checkpoints=tmp_path / "stranger.jsonl").verify()
    assert not result.ok and result.first_bad_seq == 1 and "MAC" in result.reason, str(result)


def test_unreadable_or_garbled_checkpoint_lines_anchor_nothing(log, checkpoints):
    fill(log)
    checkpoints.write_text('not json\n{"log": ["x"], "seq": 1}\n\xff\n')
    result = log.verify()
    assert result.ok and "no checkpoint of this log" in str(result), str(result)


def test_checkpoint_file_comes_from_the_environment(db_url, keystore, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_AUDIT_CHECKPOINTS", str(tmp_path / "elsewhere" / "anchors.jsonl"))
    log = AuditLog(keystore, db.engine(db_url))
    fill(log, 1)
    assert log.verify(checkpoint=True).checkpoint_written == 1
    assert json.loads((tmp_path / "elsewhere" / "anchors.jsonl").read_text())["seq"] == 1
