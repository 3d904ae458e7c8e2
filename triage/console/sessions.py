"""Server-side console sessions with an idle timeout (45 CFR 164.312(a)(2)(iii)).

The cookie holds a random token; the database holds only its SHA-256, the
account, a CSRF token and when the session was last used. The role is read
from the account on every request, so disabling an account or changing a role
takes effect at once, on every replica.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from triage import db
from triage.db import aware, utcnow



def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Expired:
    """The session timed out (and is deleted); the app audits it and says so on the sign-in page."""
    username: str


@dataclass(frozen=True)
class Session:
    username: str
    role: str
    csrf: str
    created_at: dt.datetime


class Sessions:
    def __init__(self, engine: Engine, idle_minutes: float = 15, max_hours: float = 12) -> None:
        self.engine = engine
        self.idle = dt.timedelta(minutes=idle_minutes)
        self.max_age = dt.timedelta(hours=max_hours)

    def create(self, username: str) -> Tuple[str, Session]:
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
        with self.engine.begin() as connection:
            connection.execute(insert(db.console_sessions).values(
                token_hash=_digest(token), username=username, csrf=csrf, created_at=now, last_seen_at=now))
        session = self.get(token)
        assert isinstance(session, Session)
        return token, session

    def get(self, token: Optional[str], touch: bool = True) -> Union[Session, Expired, None]:
        """The session; Expired when it timed out (it is then deleted); None when there is none.
        ``touch=False`` for background polling, which must not keep an unattended screen signed in."""
        if not token:
            return None
        sessions, accounts = db.console_sessions, db.console_accounts
        with db.reading(self.engine) as connection:
            row = connection.execute(
                select(sessions.c.username, sessions.c.csrf, sessions.c.created_at, sessions.c.last_seen_at,
                       accounts.c.role, accounts.c.active)
                .join(accounts, accounts.c.username == sessions.c.username)
                .where(sessions.c.token_hash == _digest(token))).first()
        if row is None or not row.active:
            return None
        now = utcnow()
        if now - aware(row.last_seen_at) > self.idle or now - aware(row.created_at) > self.max_age:
            self.end(token)
            return Expired(row.username)
        if touch:
            with self.engine.begin() as connection:
                connection.execute(update(sessions).where(sessions.c.token_hash == _digest(token))
                                   .values(last_seen_at=now))
        return Session(row.username, row.role, row.csrf, aware(row.created_at))

    def end(self, token: Optional[str]) -> None:
        if token:
            with self.engine.begin() as connection:
                connection.execute(delete(db.console_sessions).where(db.console_sessions.c.token_hash == _digest(token)))

    def purge_expired(self) -> int:
        cutoff = utcnow() - self.idle
        with self.engine.begin() as connection:
            return connection.execute(delete(db.console_sessions).where(
                db.console_sessions.c.last_seen_at < cutoff)).rowcount
