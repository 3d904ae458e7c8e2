"""Incident notices: a short admin text per language ("phones are down until 14:00,
use the portal") appended to the chosen replies while it is active.

A notice applies to routine answers, the escalation replies (private and crisis),
public comment and mention replies, or all of them. It is only ever appended: the
crisis reply still starts with the emergency numbers (triage/replies.py adds it after
the reply is built). Creating, changing and ending a notice is audited. Texts are not
PHI but are validated: every supported language, plain text, at most MAX_CHARS.

Every reply looks the active notices up, so they are cached per process and refreshed
in the background every CACHE_SECONDS (read once at the first reply, which itself goes
out without a notice); a change made in the console reaches the Rasa server within
about that time. A database that cannot be read means no notice, never a
failed or delayed reply.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
import unicodedata
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from triage import db
from triage.audit import AuditLog
from triage.db import aware, utcnow

logger = logging.getLogger(__name__)

ROUTINE, ESCALATION, PUBLIC, ALL = "routine", "escalation", "public", "all"
SCOPES = (ROUTINE, ESCALATION, PUBLIC, ALL)
LANGUAGES = ("en", "de", "es", "bg")
MAX_CHARS = 280
CACHE_SECONDS = 10.0


class NoticeError(ValueError):
    """A notice that cannot be saved; the message says why."""


def _clean_text(language: str, value: Any) -> str:
    text = " ".join(str(value or "").split())  # one line: it is appended to replies
    if not text:
        raise NoticeError(f"the {language} text is missing (every language needs one: {', '.join(LANGUAGES)})")
    if len(text) > MAX_CHARS:
        raise NoticeError(f"the {language} text is longer than {MAX_CHARS} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text):
        raise NoticeError(f"the {language} text has control or invisible characters")
    return text


def validate(texts: Mapping[str, Any], scope: str, starts_at: dt.datetime, ends_at: dt.datetime) -> Dict[str, str]:
    if scope not in SCOPES:
        raise NoticeError(f"unknown scope {scope!r}; use one of: {', '.join(SCOPES)}")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise NoticeError("start and end need a time zone")
    if ends_at <= starts_at:
        raise NoticeError("the end must be after the start")
    return {language: _clean_text(language, texts.get(language)) for language in LANGUAGES}


def _row(row) -> Dict[str, Any]:
    data = dict(row._mapping)
    data["texts"] = json.loads(data["texts"])
    for key in ("starts_at", "ends_at", "created_at", "updated_at"):
        data[key] = aware(data[key])
    return data


class Notices:
    def __init__(self, audit: AuditLog, engine: Optional[Engine] = None) -> None:
        self.audit = audit
        self.engine = engine or audit.engine

    def create(self, texts: Mapping[str, Any], scope: str, starts_at: dt.datetime, ends_at: dt.datetime,
               actor: str) -> str:
        clean = validate(texts, scope, starts_at, ends_at)
        notice_id = "n" + secrets.token_hex(6)
        now = utcnow()
        with self.engine.begin() as connection:
            connection.execute(insert(db.incident_notices).values(
                id=notice_id, scope=scope, texts=json.dumps(clean, ensure_ascii=False), starts_at=starts_at,
                ends_at=ends_at, created_by=actor[:64], created_at=now, updated_at=now))
        self.audit.append("notice_created", actor=actor, outcome=scope,
                          details={"notice": notice_id, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
        invalidate()
        return notice_id

    def get(self, notice_id: str) -> Dict[str, Any]:
        with db.reading(self.engine) as connection:
            row = connection.execute(select(db.incident_notices).where(db.incident_notices.c.id == notice_id)).first()
        if row is None:
            raise NoticeError(f"no notice with id {notice_id}")
        return _row(row)

    def change(self, notice_id: str, texts: Mapping[str, Any], scope: str, starts_at: dt.datetime,
               ends_at: dt.datetime, actor: str) -> None:
        self.get(notice_id)
        clean = validate(texts, scope, starts_at, ends_at)
        with self.engine.begin() as connection:
            connection.execute(update(db.incident_notices).where(db.incident_notices.c.id == notice_id).values(
                scope=scope, texts=json.dumps(clean, ensure_ascii=False), starts_at=starts_at, ends_at=ends_at,
                updated_at=utcnow()))
        self.audit.append("notice_changed", actor=actor, outcome=scope,
                          details={"notice": notice_id, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
        invalidate()

    def end(self, notice_id: str, actor: str, now: Optional[dt.datetime] = None) -> None:
        """Ends a notice now (it stays listed, with its real end time)."""
        notice = self.get(notice_id)
        now = now or utcnow()
        if notice["ends_at"] <= now:
            raise NoticeError(f"notice {notice_id} has already ended")
        with self.engine.begin() as connection:
            connection.execute(update(db.incident_notices).where(db.incident_notices.c.id == notice_id).values(
                ends_at=max(now, notice["starts_at"]), updated_at=now))
        self.audit.append("notice_ended", actor=actor, outcome=notice["scope"], details={"notice": notice_id})
        invalidate()

    def list(self, limit: int = 50) -> List[Dict[str, Any]]:
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(db.incident_notices)
                                      .order_by(db.incident_notices.c.starts_at.desc()).limit(limit)).all()
        return [_row(row) for row in rows]

    def active(self, now: Optional[dt.datetime] = None) -> List[Dict[str, Any]]:
        now = now or utcnow()
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(db.incident_notices).where(
                db.incident_notices.c.starts_at <= now, db.incident_notices.c.ends_at > now)
                .order_by(db.incident_notices.c.starts_at)).all()
        return [_row(row) for row in rows]


# -- for replies: cached, never raising ------------------------------------------

_cache: Dict[str, Any] = {"at": None, "notices": None, "refreshing": False, "generation": 0}
_cache_lock = threading.Lock()


def invalidate() -> None:
    """Reads the notices again now (after a change in this process: never on the server's event loop).
    A background read that began before the change can no longer overwrite it."""
    with _cache_lock:
        _cache["generation"] += 1
        generation = _cache["generation"]
    _refresh(generation)


def _active_cached() -> List[Dict[str, Any]]:
    """The active notices. Replies never wait for the database: the cached list is used, and
    refreshed in the background once it is CACHE_SECONDS old (or, at a process's first reply,
    read in the background while that reply goes out without a notice). So a slow or
    unreachable database never holds up a reply on the Rasa server's event loop."""
    with _cache_lock:
        notices = _cache["notices"]
        stale = _cache["at"] is None or time.monotonic() - _cache["at"] >= CACHE_SECONDS
        if stale and not _cache["refreshing"]:
            _cache["refreshing"] = True
            threading.Thread(target=_refresh, args=(_cache["generation"],), name="incident-notices",
                             daemon=True).start()
    now = utcnow()  # a cached notice still ends on time
    return [n for n in notices or [] if n["starts_at"] <= now < n["ends_at"]]


def _refresh(generation: int) -> None:
    try:
        notices = _read_active()
    except Exception as exc:  # noqa: BLE001 - no notice rather than no reply
        logger.warning("incident notices unreadable (%s); replies go out without them", type(exc).__name__)
        notices = []
    with _cache_lock:
        if generation == _cache["generation"]:
            _cache.update(at=time.monotonic(), notices=notices)
        _cache["refreshing"] = False


def _read_active() -> List[Dict[str, Any]]:
    """Active now or starting within the cache period, so that a start is not missed."""
    now = utcnow()
    with db.reading(db.engine()) as connection:
        rows = connection.execute(select(db.incident_notices).where(
            db.incident_notices.c.starts_at <= now + dt.timedelta(seconds=CACHE_SECONDS),
            db.incident_notices.c.ends_at > now)).all()
    return [_row(row) for row in rows]


def texts_for(scope: str, language: str, default_language: str = "en") -> List[str]:
    """The active notices' texts for replies of ``scope``, in ``language``. Never raises."""
    try:
        return [n["texts"].get(language) or n["texts"].get(default_language) or n["texts"]["en"]
                for n in _active_cached() if n["scope"] in (scope, ALL)]
    except Exception as exc:  # noqa: BLE001
        logger.warning("incident notice not added (%s)", type(exc).__name__)
        return []


def append_to(reply: str, scope: str, language: str, default_language: str = "en") -> str:
    """``reply`` with the active notices after it: after, so a crisis reply still starts
    with the emergency numbers."""
    extra = texts_for(scope, language, default_language)
    return "\n\n".join([reply, *(f"ℹ️ {text}" for text in extra)]) if extra else reply
