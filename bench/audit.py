"""Audit log figures: appends per second (one process, real appends through
the chain lock) and the time `audit verify` takes for 100,000 entries (chain, counter
and signed checkpoint)."""
from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict

from sqlalchemy import insert

from triage import db
from triage.audit import GENESIS, HEAD, AuditLog, Checkpoint, _now


def bulk_chain(log: AuditLog, count: int) -> None:
    """Builds a valid chain fast (one transaction), as appends write it: MAC'd entries,
    the counter row and a signed checkpoint of the head, to time verification at scale."""
    sealed = log.keys.seal(json.dumps({"intent": "disclose_symptoms", "details": {}}), aad="audit")
    rows, prev = [], GENESIS
    for seq in range(1, count + 1):
        row = {"seq": seq, "ts": _now(), "event": "notified", "actor": "system", "case_id": None,
               "channel": "rest", "confidence": 0.9, "outcome": "ok", "key_id": sealed.key_id,
               "payload": sealed.token, "prev_hash": prev}
        row["hash"] = prev = log.entry_mac(row, prev)
        rows.append(row)
    with log.engine.begin() as connection:
        for start in range(0, count, 5000):
            connection.execute(insert(db.audit_log), rows[start:start + 5000])
        log_id = uuid.uuid4().hex
        connection.execute(insert(db.audit_head).values(id=HEAD, log_id=log_id, last_seq=count, last_hash=prev,
                                                        mac_from=1))
    log.checkpoints.write(Checkpoint(log_id, count, prev, 1, _now()))


def run(keys, url: str, appends: int = 2000, verify_entries: int = 100_000) -> Dict[str, float]:
    engine = db.engine(url)
    db.metadata.drop_all(engine)
    db.metadata.create_all(engine)
    checkpoints = tempfile.TemporaryDirectory(prefix="bench-audit-checkpoints-")
    log = AuditLog(keys, engine, checkpoints=Path(checkpoints.name) / "audit-checkpoints.jsonl")
    start = time.perf_counter()
    for i in range(appends):
        log.append("notified", case_id=f"bench-{i}", channel="rest", intent="disclose_symptoms", confidence=0.9)
    append_seconds = time.perf_counter() - start
    db.metadata.drop_all(engine)
    db.metadata.create_all(engine)
    bulk_chain(log, verify_entries)
    start = time.perf_counter()
    result = log.verify()
    verify_seconds = time.perf_counter() - start
    checkpoints.cleanup()
    assert result.ok and result.entries == verify_entries and result.checkpoint_seq == verify_entries, str(result)
    return {"appends_per_second": round(appends / append_seconds, 1), "appends": appends,
            "verify_seconds": round(verify_seconds, 2), "verify_entries": verify_entries}
