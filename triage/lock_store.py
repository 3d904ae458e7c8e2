"""AtomicRedisLockStore: Rasa's ticket lock, made safe across replicas.

Rasa OSS's RedisLockStore changes a lock with a separate GET and SET (issue a
ticket, finish serving, expire tickets), so two replicas can both read the same
lock, both take ticket 0 and process two messages of one patient at once, in
any order. The atomic version was reverted in OSS (rasa PRs #11256, #11428).

Here every read-modify-write of a lock runs inside a Redis optimistic
transaction (WATCH / MULTI / EXEC): if another replica changed the lock in
between, EXEC fails and the change is retried on the fresh value. Tickets stay
first come, first served, and the lock key expires on its own if a replica dies.

endpoints.yml:
    lock_store:
      type: triage.lock_store.AtomicRedisLockStore
      url: localhost
      port: 6379
      db: 1
"""
from __future__ import annotations

import json
from typing import Callable, Optional, Text, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

# A lock nobody touches for this long is gone, even if its replica died mid-turn.
KEY_TTL_SECONDS = max(120, int(LOCK_LIFETIME) * 2)


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, host: Text = "localhost", endpoint_config=None, **kwargs) -> None:
        # Rasa builds custom lock stores from the whole endpoint config.
        if endpoint_config is not None:
            host = endpoint_config.url or host
            kwargs = {**endpoint_config.kwargs, **kwargs}
        super().__init__(host=host, **kwargs)

    def _change(self, conversation_id: Text,
                mutate: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], object]]) -> object:
        key = self.key_prefix + conversation_id
        outcome = {}

        def transaction(pipe) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new_lock, outcome["result"] = mutate(lock)
            pipe.multi()
            if new_lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, new_lock.dumps(), ex=KEY_TTL_SECONDS)

        self.red.transaction(transaction, key)
        return outcome.get("result")

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def mutate(lock):
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, mutate)  # type: ignore[return-value]
        except Exception as exc:  # noqa: BLE001 - Rasa expects LockError
            raise LockError(f"Error while acquiring lock: {type(exc).__name__}") from exc

    def update_lock(self, conversation_id: Text) -> None:
        def mutate(lock):
            if lock is None:
                return None, None
            lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, mutate)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def mutate(lock):
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, mutate)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Finish serving and drop the lock if nobody waits, in one step: between a
        separate check and delete another replica could have taken a ticket."""

        def mutate(lock):
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, mutate)
