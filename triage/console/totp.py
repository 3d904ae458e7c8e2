"""The console's second factor: TOTP (RFC 6238, 30 s steps, 6 digits) and one-time recovery codes.

Required for admins and auditors, and for staff when TRIAGE_CONSOLE_TOTP_STAFF=1; an account
that has it is always asked for it. The secret is sealed with the key store (bound to the
account) and becomes active only after a correct code. A code is accepted one step either
side of now, and never twice: the last accepted step is kept and only a later one passes.
Ten recovery codes are shown once at enrolment and stored as scrypt hashes, each usable once.
Failed codes count in the same failure table, so the same throttle as for passwords applies,
per account and per address. Audit entries carry metadata only, never a secret or a code.

The tables live here rather than in triage/db.py and are created when the store is made, so an
existing database gets them without a migration.
"""
from __future__ import annotations

import re
import secrets
import time
from typing import List, Optional, Tuple

import pyotp
import segno
from sqlalchemy import (Column, DateTime, ForeignKey, Integer, String, Table, Text, delete, insert, or_,
                        select, update)

from triage import db
from triage.console.accounts import ADMIN, AUDITOR, STAFF, AccountError, Accounts, SignInThrottled, check_password, hash_password
from triage.db import utcnow

ISSUER = "Clinic triage"
STEP_SECONDS, DIGITS, DRIFT_STEPS = 30, 6, 1
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
TOTP_CODE = re.compile(r"^\d{6}$")

console_totp = Table(
    "console_totp", db.metadata,
    Column("username", String(64), ForeignKey("console_accounts.username"), primary_key=True),
    Column("secret", Text, nullable=False),  # sealed with the key store, aad names the account
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("enrolled_at", DateTime(timezone=True)),  # NULL: waiting for the first correct code
    Column("last_step", Integer),  # the last accepted time step: no code at or before it passes again
)

console_recovery_codes = Table(
    "console_recovery_codes", db.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), ForeignKey("console_accounts.username"), nullable=False, index=True),
    Column("code_hash", String(200), nullable=False),  # scrypt, as passwords
    Column("used_at", DateTime(timezone=True)),
)


def normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "")).lower()[:64]


def _recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))  # ~50 bits
    return f"{raw[:5]}-{raw[5:]}"


class SecondFactor:
    def __init__(self, accounts: Accounts, staff_required: bool = False) -> None:
        self.accounts = accounts
        self.audit = accounts.audit
        self.keys = accounts.audit.keys
        self.engine = accounts.engine
        self.staff_required = staff_required
        db.create_tables(self.engine)  # the engine may have been made before this module was imported

    def required(self, role: str) -> bool:
        return role in (ADMIN, AUDITOR) or (role == STAFF and self.staff_required)

    def _row(self, username: str):
        with db.reading(self.engine) as connection:
            return connection.execute(select(console_totp).where(console_totp.c.username == username)).first()

    def enrolled(self, username: str) -> bool:
        row = self._row(username)
        return bool(row and row.enrolled_at)

    def _secret(self, row) -> str:
        return self.keys.open(row.secret, aad=f"console-totp:{row.username}")

    # -- enrolment -------------------------------------------------------------

    def pending_secret(self, username: str) -> Optional[str]:
        """The secret to enrol with: the waiting one (a reload shows the same QR code) or a new one;
        None when the account is already enrolled."""
        row = self._row(username)
        if row and row.enrolled_at:
            return None
        if row:
            return self._secret(row)
        secret = pyotp.random_base32()
        sealed = self.keys.seal(secret, aad=f"console-totp:{username}").token
        with self.engine.begin() as connection:
            connection.execute(insert(console_totp).values(username=username, secret=sealed, created_at=utcnow()))
        return secret

    @staticmethod
    def provisioning(username: str, secret: str) -> Tuple[str, str]:
        """The otpauth URI and an inline SVG QR code of it (the CSP blocks data: images)."""
        uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=username,
                                                                                        issuer_name=ISSUER)
        return uri, segno.make(uri, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff")

    def confirm(self, username: str, code: str, client: str, actor: str) -> Optional[List[str]]:
        """Activates the waiting secret when the code is right and returns the recovery codes,
        to be shown once; None when the code is wrong (audited)."""
        row = self._row(username)
        step = self._matching_step(self._secret(row), code) if row and not row.enrolled_at else None
        if step is None:
            self.audit.append("login_failed", actor=actor, outcome="bad_enrolment_code", details={"client": client})
            return None
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        hashes = [hash_password(normalise(c)) for c in codes]
        with self.engine.begin() as connection:
            activated = connection.execute(update(console_totp).where(
                console_totp.c.username == username, console_totp.c.enrolled_at.is_(None))
                .values(enrolled_at=utcnow(), last_step=step)).rowcount
            if not activated:  # enrolled meanwhile in another tab
                return None
            connection.execute(delete(console_recovery_codes).where(console_recovery_codes.c.username == username))
            connection.execute(insert(console_recovery_codes), [{"username": username, "code_hash": h} for h in hashes])
        self.audit.append("account_changed", actor=actor, outcome="totp_enrolled",
                          details={"username": username, "client": client})
        return codes

    # -- signing in --------------------------------------------------------------

    @staticmethod
    def _matching_step(secret: str, code: str) -> Optional[int]:
        code = normalise(code)
        if not TOTP_CODE.match(code):
            return None
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
        now = int(time.time()) // STEP_SECONDS
        found = None
        for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):  # every step compared: constant work
            if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
                found = step
        return found

    def verify(self, username: str, code: str, client: str) -> Optional[str]:
        """How the second factor passed ("totp" or "recovery_code"), or None (a failure, counted and
        audited). Raises SignInThrottled after too many failures, without checking the code."""
        retry_after = self.accounts.throttled(username, client)
        if retry_after:
            self.audit.append("login_failed", actor="console", outcome="throttled",
                              details={"username": username, "client": client, "step": "second_factor"})
            raise SignInThrottled(retry_after)
        row = self._row(username)
        outcome = "bad_code"
        if row and row.enrolled_at:
            if TOTP_CODE.match(normalise(code)):
                step = self._matching_step(self._secret(row), code)
                if step is not None and self._use_step(username, step):
                    return "totp"
                outcome = "replayed_code" if step is not None else "bad_code"
            else:
                left = self._use_recovery_code(username, code)
                if left is not None:
                    self.audit.append("account_changed", actor=f"console:{username}", outcome="recovery_code_used",
                                      details={"username": username, "client": client, "codes_left": left})
                    return "recovery_code"
                outcome = "bad_recovery_code"
        self.accounts.record_failure(username, client)
        self.audit.append("login_failed", actor="console", outcome=outcome,
                          details={"username": username, "client": client, "step": "second_factor"})
        return None

    def _use_step(self, username: str, step: int) -> bool:
        # One conditional update: two replicas given the same code cannot both accept it.
        with self.engine.begin() as connection:
            return connection.execute(update(console_totp).where(
                console_totp.c.username == username,
                or_(console_totp.c.last_step.is_(None), console_totp.c.last_step < step))
                .values(last_step=step)).rowcount == 1

    def _use_recovery_code(self, username: str, code: str) -> Optional[int]:
        """The number of codes left after using this one; None when it is not an unused code."""
        codes = console_recovery_codes
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(codes.c.id, codes.c.code_hash).where(
                codes.c.username == username, codes.c.used_at.is_(None))).all()
        match = next((r.id for r in rows if check_password(normalise(code), r.code_hash)), None)
        if match is None:
            return None
        with self.engine.begin() as connection:
            if connection.execute(update(codes).where(codes.c.id == match, codes.c.used_at.is_(None))
                                  .values(used_at=utcnow())).rowcount != 1:
                return None  # used a moment ago elsewhere
        return len(rows) - 1

    # -- administration ------------------------------------------------------------

    def reset(self, username: str, actor: str) -> None:
        """Removes the account's TOTP and recovery codes and ends its sessions: it enrols again
        at its next sign-in."""
        username = username.strip().lower()
        if self.accounts.get(username) is None:
            raise AccountError(f"no account named {username!r}")
        with self.engine.begin() as connection:
            connection.execute(delete(console_recovery_codes).where(console_recovery_codes.c.username == username))
            connection.execute(delete(console_totp).where(console_totp.c.username == username))
            connection.execute(delete(db.console_sessions).where(db.console_sessions.c.username == username))
        self.audit.append("account_changed", actor=actor, outcome="totp_reset", details={"username": username})

    def enrolled_names(self) -> set:
        with db.reading(self.engine) as connection:
            return set(connection.execute(select(console_totp.c.username).where(
                console_totp.c.enrolled_at.isnot(None))).scalars())
