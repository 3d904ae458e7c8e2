"""AtomicRedisLockStore: Rasa's ticket lock, made safe across replicas.

Rasa OSS's RedisLockStore changes a lock with a separate GET and SET (issue a
ticket, finish serving, expire tickets), so two replicas can both read the same
lock, both take ticket 0 and process two messages of one patient at once, in
any order. The atomic version was reverted in OSS (rasa PRs #11256, #11428).

Here every read-modify-write of a lock is a compare-and-set: read the lock,
apply Rasa's own TicketLock logic, then write it with a Lua script that
replaces the value only if it is still the one read (Redis runs a script
atomically). If another replica changed the lock in between, the change is
retried on the fresh value. Tickets stay first come, first served, and the lock
key expires on its own if a replica dies. (This replaced WATCH / MULTI / EXEC:
same guarantee, two round trips per change instead of three.)

endpoints.yml:
    lock_store:
      type: triage.rasa.lock_store.AtomicRedisLockStore
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
# Each failed attempt means another replica changed this conversation's lock meanwhile.
MAX_ATTEMPTS = 1000
# KEYS[1]: the lock; ARGV: the value read ("" = none), the new value ("" = delete), TTL.
_COMPARE_AND_SET = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return 1
"""


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, host: Text = "localhost", endpoint_config=None, **kwargs) -> None:
        # Rasa builds custom lock stores from the whole endpoint config.
        if endpoint_config is not None:
            host = endpoint_config.url or host
            kwargs = {**endpoint_config.kwargs, **kwargs}
        super().__init__(host=host, **kwargs)
        self._compare_and_set = self.red.register_script(_COMPARE_AND_SET)

    def _change(self, conversation_id: Text,
                mutate: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], object]]) -> object:
        key = self.key_prefix + conversation_id
        for _ in range(MAX_ATTEMPTS):
            raw = self.red.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new_lock, result = mutate(lock)
            if self._compare_and_set(keys=[key], args=[raw or "", new_lock.dumps() if new_lock else "",
                                                        KEY_TTL_SECONDS]):
                return result
        raise LockError(f"lock kept changing under {MAX_ATTEMPTS} attempts")

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
