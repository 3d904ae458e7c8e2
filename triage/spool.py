"""Escalations that could not be recorded, kept on local disk until they can be.

When the database is down as a private or crisis message arrives, the patient still
gets the reply (handoff.escalate), but no case exists: staff would never see the
message, while the reply has told the patient that the care team will follow up. So
the escalation is sealed with the key store, like everything else at rest, and
written here; the worker records it as a case once the database answers
(worker.run_once), with the same staff notice, audit entry and review queueing.

One file per escalation, written under a temporary name and then renamed, so a crash
never leaves half a record. A file that cannot be opened (a retired key, tampering)
is moved aside as ``*.unreadable`` and reported, never silently dropped. The text is
cleaned (triage.text.clean) going in and coming out, so no odd character can make
an escalation fail forever; one that still cannot be recorded after MAX_TRIES for
any reason but an outage is moved aside as ``*.failed``, with a CRITICAL log line and
a staff notice that name only its spool id.

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
from triage.text import clean

logger = logging.getLogger(__name__)

ENV_DIR = "TRIAGE_SPOOL_DIR"
_AAD = "escalation-spool"
_SUFFIX = ".sealed"
_TRIES = ".tries"  # beside a spooled file: how often recording it failed other than by an outage
MAX_TRIES = 5


def _outage(exc: Exception) -> bool:
    """The database (or the way to it) is down: the escalation itself is fine and waits."""
    from sqlalchemy import exc as sa

    return isinstance(exc, (OSError, sa.OperationalError, sa.InterfaceError, sa.DisconnectionError,
                            sa.TimeoutError))


def directory() -> Path:
    return Path(os.environ.get(ENV_DIR) or Path(__file__).resolve().parent.parent / "var" / "spool")


def put(sender_id: str, channel: str, triage: Mapping[str, Any], text: str,
        keys: Optional[keystore.KeyStore] = None) -> Path:
    """Seals one escalation to disk; raises if that is impossible too (no key, no disk)."""
    record = json.dumps({"sender_id": sender_id, "channel": channel, "triage": dict(triage), "text": clean(text)})
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


def drain(record: Callable[[Dict[str, Any]], Any], keys: Optional[keystore.KeyStore] = None,
          give_up: Optional[Callable[[str], Any]] = None) -> int:
    """Hands each spooled escalation to ``record``, oldest first, and deletes it once
    recorded. One that fails (the database is still down) stays for the next call, and
    the others are still tried. One that fails MAX_TRIES times other than by an outage
    is moved aside as ``*.failed`` and reported to ``give_up`` with its spool id (never
    its text). Returns how many were recorded."""
    folder = directory()
    if not folder.exists():
        return 0
    store = keys or keystore.default()
    done, waiting, error = 0, 0, ""
    for path in sorted(folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime):
        try:
            escalation = json.loads(store.open(path.read_text(encoding="ascii"), aad=_AAD))
            escalation["text"] = clean(escalation.get("text") or "")  # also for files spooled before clean()
        except (keystore.DecryptionError, ValueError, OSError) as exc:
            logger.error("spooled escalation %s cannot be opened (%s); kept as .unreadable",
                         path.stem, type(exc).__name__)
            path.rename(path.with_suffix(".unreadable"))
            continue
        try:
            record(escalation)
        except Exception as exc:  # noqa: BLE001 - kept for the next call
            waiting, error = waiting + 1, type(exc).__name__
            if not _outage(exc):
                _count_failure(path, exc, give_up)
            continue
        path.unlink()
        path.with_suffix(_TRIES).unlink(missing_ok=True)
        done += 1
    if waiting:
        logger.error("%d spooled escalation(s) still cannot be recorded (%s); retrying", waiting, error)
    return done


def _count_failure(path: Path, exc: Exception, give_up: Optional[Callable[[str], Any]]) -> None:
    tries_file = path.with_suffix(_TRIES)
    try:
        tries = int(tries_file.read_text(encoding="ascii")) + 1
    except (OSError, ValueError):
        tries = 1
    if tries < MAX_TRIES:
        tries_file.write_text(str(tries), encoding="ascii")
        return
    path.rename(path.with_suffix(".failed"))
    tries_file.unlink(missing_ok=True)
    logger.critical("spooled escalation %s could not be recorded after %d tries (%s); moved aside as "
                    "%s.failed: a staff case is missing", path.stem, tries, type(exc).__name__, path.stem)
    if give_up is not None:
        try:
            give_up(path.stem)
        except Exception as notice_exc:  # noqa: BLE001 - the CRITICAL line above still stands
            logger.critical("staff notice for spooled escalation %s failed (%s)", path.stem,
                            type(notice_exc).__name__)
