"""Escalations that could not be recorded, kept on local disk until they can be.

When the database is down as a private or crisis message arrives, the patient still
gets the reply (handoff.escalation), but no case exists: staff would never see the
message, while the reply has told the patient that the care team will follow up. So
the escalation is sealed with the key store, like everything else at rest, and
written here; the worker records it as a case once the database answers
(worker.run_once), with the same staff notice, audit entry and review queueing.

One file per escalation, written under a temporary name and then renamed, so a crash
never leaves half a record. A file that cannot be opened (a retired key, tampering)
is moved aside as ``*.unreadable`` and reported, never silently dropped.

    TRIAGE_SPOOL_DIR   default var/spool (one per machine or pod: mount it on a volume)
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional

from triage import keys as keystore

logger = logging.getLogger(__name__)

ENV_DIR = "TRIAGE_SPOOL_DIR"
_AAD = "escalation-spool"
_SUFFIX = ".sealed"


def directory() -> Path:
    return Path(os.environ.get(ENV_DIR) or Path(__file__).resolve().parent.parent / "var" / "spool")


def put(sender_id: str, channel: str, triage: Mapping[str, Any], text: str,
        keys: Optional[keystore.KeyStore] = None) -> Path:
    """Seals one escalation to disk; raises if that is impossible too (no key, no disk)."""
    record = json.dumps({"sender_id": sender_id, "channel": channel, "triage": dict(triage), "text": text})
    token = (keys or keystore.default()).seal(record, aad=_AAD).token
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    temporary = folder / f".{name}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(token)
        handle.flush()
        os.fsync(handle.fileno())
    final = folder / f"{name}{_SUFFIX}"
    os.replace(temporary, final)
    return final


def pending() -> int:
    folder = directory()
    return len(list(folder.glob(f"*{_SUFFIX}"))) if folder.exists() else 0


def drain(record: Callable[[Dict[str, Any]], Any], keys: Optional[keystore.KeyStore] = None) -> int:
    """Hands each spooled escalation to ``record``, oldest first, and deletes it once
    recorded. One that fails (the database is still down) stays for the next call, and
    the others are still tried. Returns how many were recorded."""
    folder = directory()
    if not folder.exists():
        return 0
    store = keys or keystore.default()
    done, waiting, error = 0, 0, ""
    for path in sorted(folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime):
        try:
            escalation = json.loads(store.open(path.read_text(encoding="ascii"), aad=_AAD))
        except (keystore.DecryptionError, ValueError, OSError) as exc:
            logger.error("spooled escalation %s cannot be opened (%s); kept as .unreadable",
                         path.stem, type(exc).__name__)
            path.rename(path.with_suffix(".unreadable"))
            continue
        try:
            record(escalation)
        except Exception as exc:  # noqa: BLE001 - kept for the next call
            waiting, error = waiting + 1, type(exc).__name__
            continue
        path.unlink()
        done += 1
    if waiting:
        logger.error("%d spooled escalation(s) still cannot be recorded (%s); retrying", waiting, error)
    return done
