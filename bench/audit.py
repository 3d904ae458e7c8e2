"""Audit log figures: appends per second (one process, real appends through
the chain lock) and the time `audit verify` takes for 100,000 entries."""
from __future__ import annotations

import json
import time
from typing import Dict

from sqlalchemy import insert

from triage import db
from triage.audit import GENESIS, AuditLog, _now, chain_hash


def bulk_chain(log: AuditLog, count: int) -> None:
    """Builds a valid chain fast (one transaction), to time verification at scale."""
    sealed = log.keys.seal(json.dumps({"intent": "disclose_symptoms", "details": {}}), aad="audit")
    rows, prev = [], GENESIS
    for seq in range(1, count + 1):
        row = {"seq": seq, "ts": _now(), "event": "notified", "actor": "system", "case_id": None,
               "channel": "rest", "confidence": 0.9, "outcome": "ok", "key_id": sealed.key_id,
               "payload": sealed.token, "prev_hash": prev}
        row["hash"] = prev = chain_hash(row, prev)
        rows.append(row)
    with log.engine.begin() as connection:
        for start in range(0, count, 5000):
            connection.execute(insert(db.audit_log), rows[start:start + 5000])


def run(keys, url: str, appends: int = 2000, verify_entries: int = 100_000) -> Dict[str, float]:
    engine = db.engine(url)
    db.metadata.drop_all(engine)
    db.metadata.create_all(engine)
    log = AuditLog(keys, engine)
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
    assert result.ok and result.entries == verify_entries, str(result)
    return {"appends_per_second": round(appends / append_seconds, 1), "appends": appends,
            "verify_seconds": round(verify_seconds, 2), "verify_entries": verify_entries}
