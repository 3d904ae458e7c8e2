"""The service container: the key store, audit log, cases, notifier and review queue
one process shares.

Every module that needs them (CLI, channels, NLG, actions, worker, console, training)
takes them from here: ``services.default()`` builds them once from the environment
(database URL, key store), and tests replace ``triage.services.default``. It lives in
its own module, under everything that uses it, so that nothing has to import the
handoff flow to get at the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from triage.audit import AuditLog
from triage.cases import Cases, CasePolicy
from triage.keys import KeyStore
from triage.notify import Notifier
from triage.review import ReviewQueue


@dataclass
class Services:
    keys: KeyStore
    audit: AuditLog
    cases: Cases
    notifier: Notifier
    review: Optional[ReviewQueue] = None

    def __post_init__(self) -> None:
        if self.review is None:
            self.review = ReviewQueue(self.keys, self.audit)

    @classmethod
    def from_env(cls) -> "Services":
        from triage import clinic, db, keys

        store = keys.default()
        audit = AuditLog(store, db.engine())
        cases = Cases(store, audit, CasePolicy.from_clinic(clinic.current()))
        return cls(store, audit, cases, Notifier(audit), ReviewQueue(store, audit))


@lru_cache(maxsize=1)
def default() -> Services:
    """This process's services, built on first use."""
    return Services.from_env()
