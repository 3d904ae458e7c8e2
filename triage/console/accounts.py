"""Console accounts: roles, scrypt password hashes, and failed sign-in throttling.

Accounts are created by an admin (`triage console add-user`, or the accounts
page). Every change and every sign-in attempt is an audit event; the attempted
username of a failed sign-in is sealed in the payload, because people type
their password into the username field.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from triage import db
from triage.db import utcnow
from triage.audit import AuditLog

STAFF, ADMIN, AUDITOR = "staff", "admin", "auditor"
ROLES = (STAFF, ADMIN, AUDITOR)
MIN_PASSWORD_CHARS = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,47}$")
# scrypt with N=2**15, r=8: 32 MiB and roughly 0.1 s per check on one core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1


class AccountError(RuntimeError):
    """An account command that cannot be done; the message says why."""


class SignInThrottled(AccountError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(f"Too many failed sign-ins. Try again in {minutes} minute(s), or ask an admin.")
        self.retry_after = retry_after


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), maxmem=64 * 1024 * 1024, dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked when the account does not exist, so that a wrong username costs as much as a wrong password.
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Throttle:
    per_account: int = 5  # failures per username in the window
    per_client: int = 20  # failures per client address in the window
    window_minutes: int = 15


def check_new_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    if username.lower() in password.lower():
        raise AccountError("the password must not contain the username")


class Accounts:
    def __init__(self, audit: AuditLog, engine: Optional[Engine] = None, throttle: Throttle = Throttle()) -> None:
        self.audit = audit
        self.engine = engine or audit.engine
        self.throttle = throttle

    # -- administration ------------------------------------------------------

    def create(self, username: str, role: str, password: str, actor: str) -> Dict[str, Any]:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise AccountError("a username is 2-48 characters: lowercase letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        check_new_password(username, password)
        if self.get(username):
            raise AccountError(f"an account named {username!r} already exists")
        now = utcnow()
        with self.engine.begin() as connection:
            connection.execute(insert(db.console_accounts).values(
                username=username, role=role, password_hash=hash_password(password), active=True,
                created_at=now, created_by=actor, password_changed_at=now))
        self.audit.append("account_created", actor=actor, outcome=role, details={"username": username})
        return self.get(username)

    def set_password(self, username: str, password: str, actor: str) -> None:
        self._require(username)
        check_new_password(username, password)
        self._change(username, actor, "password", password_hash=hash_password(password),
                     password_changed_at=utcnow())

    def set_active(self, username: str, active: bool, actor: str) -> None:
        account = self._require(username)
        if not active and account["role"] == ADMIN and self._active_admins() <= 1 and account["active"]:
            raise AccountError("this is the last active admin account; create another admin first")
        self._change(username, actor, "enabled" if active else "disabled", active=active)

    def _change(self, username: str, actor: str, what: str, **values) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(db.console_accounts).where(db.console_accounts.c.username == username)
                               .values(**values))
            # A changed password or a disabled account ends every session of it at once.
            connection.execute(delete(db.console_sessions).where(db.console_sessions.c.username == username))
        self.audit.append("account_changed", actor=actor, outcome=what, details={"username": username})

    def _active_admins(self) -> int:
        with db.reading(self.engine) as connection:
            return connection.execute(select(func.count()).select_from(db.console_accounts).where(
                db.console_accounts.c.role == ADMIN, db.console_accounts.c.active.is_(True))).scalar_one()

    def get(self, username: str) -> Optional[Dict[str, Any]]:
        with db.reading(self.engine) as connection:
            row = connection.execute(select(db.console_accounts).where(
                db.console_accounts.c.username == username.strip().lower())).first()
        return dict(row._mapping) if row else None

    def _require(self, username: str) -> Dict[str, Any]:
        account = self.get(username)
        if account is None:
            raise AccountError(f"no account named {username!r}")
        return account

    def list(self) -> List[Dict[str, Any]]:
        columns = [c for c in db.console_accounts.c if c.name != "password_hash"]
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(*columns).order_by(db.console_accounts.c.username)).all()
        return [dict(r._mapping) for r in rows]

    # -- signing in ------------------------------------------------------------

    def authenticate(self, username: str, password: str, client: str) -> Optional[Dict[str, Any]]:
        """The account when the password is right; None when not. Raises SignInThrottled
        after too many failures, without checking the password at all. The caller clears the
        failures (clear_failures) once every factor has passed."""
        username = (username or "").strip().lower()[:64]
        retry_after = self.throttled(username, client)
        if retry_after:
            self.audit.append("login_failed", actor="console", outcome="throttled",
                              details={"username": username, "client": client})
            raise SignInThrottled(retry_after)
        account = self.get(username) if username else None
        ok = check_password(password or "", account["password_hash"] if account else _dummy_hash())
        if not (ok and account and account["active"]):
            self.record_failure(username, client)
            outcome = "disabled" if ok and account else "bad_credentials"
            self.audit.append("login_failed", actor="console", outcome=outcome,
                              details={"username": username, "client": client})
            return None
        return account

    def record_failure(self, username: str, client: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(db.console_login_failures).values(
                username=username, client=client[:64], ts=utcnow()))

    def clear_failures(self, username: str) -> None:
        """After a complete sign-in only: a right password alone must not reset the count of
        wrong second-factor codes."""
        with self.engine.begin() as connection:
            connection.execute(delete(db.console_login_failures).where(
                db.console_login_failures.c.username == username))

    def throttled(self, username: str, client: str) -> int:
        """Seconds until the next attempt is allowed; 0 when it is allowed now."""
        window = dt.timedelta(minutes=self.throttle.window_minutes)
        since = utcnow() - window
        failures = db.console_login_failures
        with db.reading(self.engine) as connection:
            for column, value, limit in ((failures.c.username, username, self.throttle.per_account),
                                         (failures.c.client, client, self.throttle.per_client)):
                times = connection.execute(select(failures.c.ts).where(column == value, failures.c.ts >= since)
                                           .order_by(failures.c.ts.desc()).limit(limit)).scalars().all()
                if len(times) >= limit:
                    oldest = times[-1] if times[-1].tzinfo else times[-1].replace(tzinfo=dt.timezone.utc)
                    return max(1, int((oldest + window - utcnow()).total_seconds()))
        return 0

    def purge_failures(self, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
        with self.engine.begin() as connection:
            return connection.execute(delete(db.console_login_failures).where(
                db.console_login_failures.c.ts < utcnow() - older_than)).rowcount
