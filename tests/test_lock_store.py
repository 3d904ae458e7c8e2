"""Two processes race for one conversation's lock on the real Redis.

Rasa's stock RedisLockStore reads and writes the lock in separate steps; with a
little latency between them (as between a replica and a remote Redis) both
processes get in at once. AtomicRedisLockStore never lets them.
"""
import asyncio
import multiprocessing
import time
import uuid

import pytest
import redis

REDIS = {"host": "127.0.0.1", "port": 6379, "db": 3}


def _worker(kind: str, prefix: str, conversation: str, rounds: int, result_key: str) -> None:
    from rasa.core.lock_store import RedisLockStore

    from triage.rasa.lock_store import AtomicRedisLockStore

    base = AtomicRedisLockStore if kind == "atomic" else RedisLockStore

    class Slow(base):  # latency between reading and writing a lock
        def get_lock(self, conversation_id):
            lock = super().get_lock(conversation_id)
            time.sleep(0.003)
            return lock

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            write = getattr(self, "_compare_and_set", None)
            if write is not None:  # ours: between its read and its conditional write
                def slow_write(**write_args):
                    time.sleep(0.003)
                    return write(**write_args)
                self._compare_and_set = slow_write

    store = Slow(key_prefix=prefix, **REDIS)
    red = redis.Redis(**REDIS)

    from rasa.core.lock_store import LockError

    async def one_round():
        async with store.lock(conversation, wait_time_in_seconds=0.002, lock_lifetime=5):
            if red.incr(f"{result_key}:inside") > 1:
                red.incr(f"{result_key}:overlaps")
            await asyncio.sleep(0.002)
            red.decr(f"{result_key}:inside")

    async def main():
        for _ in range(rounds):
            try:
                # a lock that never frees (the stock store can corrupt it) must not hang the suite
                await asyncio.wait_for(one_round(), timeout=10)
            except (LockError, asyncio.TimeoutError):  # in Rasa, that message fails
                red.incr(f"{result_key}:lost")
                continue
            red.incr(f"{result_key}:done")

    asyncio.run(main())


def race(kind: str, rounds: int = 60) -> dict:
    red = redis.Redis(**REDIS)
    try:
        red.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis at 127.0.0.1:6379 is needed for this test: {exc}")
    tag = uuid.uuid4().hex[:8]
    prefix, conversation, result_key = f"t{tag}", f"conv-{tag}", f"race:{tag}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(kind, prefix, conversation, rounds, result_key), daemon=True)
               for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    for w in workers:  # the stock store can leave a worker waiting forever on a corrupted lock
        if w.is_alive():
            w.terminate()
            w.join(10)
            red.incr(f"{result_key}:lost")
    figures = {name: int(red.get(f"{result_key}:{name}") or 0) for name in ("overlaps", "lost", "done")}
    figures["exitcodes"] = [w.exitcode for w in workers]
    red.delete(*[f"{result_key}:{n}" for n in ("overlaps", "lost", "done", "inside")])
    return figures


def test_stock_redis_lock_store_interleaves(capsys):
    figures = race("stock")
    with capsys.disabled():
        print(f"\nstock RedisLockStore, 2 processes x 60 locked sections: {figures}")
    # Either two turns ran at once, or a lock vanished and a turn failed.
    assert figures["overlaps"] + figures["lost"] > 0, f"stock lock store held up this time: {figures}"


def test_atomic_lock_store_never_interleaves(capsys):
    figures = race("atomic")
    with capsys.disabled():
        print(f"\nAtomicRedisLockStore, 2 processes x 60 locked sections: {figures}")
    assert figures["exitcodes"] == [0, 0]
    assert figures["done"] == 120
    assert figures["overlaps"] == 0 and figures["lost"] == 0, figures


def test_a_write_over_a_changed_lock_is_refused_and_retried():
    """The compare-and-set itself: a change made by another replica between the read and
    the write makes the write fail, and the ticket is issued on the fresh value."""
    from triage.rasa.lock_store import AtomicRedisLockStore

    tag = f"t{uuid.uuid4().hex[:8]}"
    store, other = AtomicRedisLockStore(key_prefix=tag, **REDIS), AtomicRedisLockStore(key_prefix=tag, **REDIS)
    write, outcomes = store._compare_and_set, []

    def meddling_write(**args):
        if not outcomes:  # the first time, another replica takes a ticket in between
            other.issue_ticket("c2")
        outcomes.append(write(**args))
        return outcomes[-1]

    store._compare_and_set = meddling_write
    assert store.issue_ticket("c2") == 1  # the other replica's ticket 0 was kept
    assert outcomes == [0, 1]
    assert [t.number for t in store.get_lock("c2").tickets] == [0, 1]
    store.red.delete(store.key_prefix + "c2")


def test_lock_keys_expire_and_are_removed_after_use():
    from triage.rasa.lock_store import AtomicRedisLockStore

    store = AtomicRedisLockStore(key_prefix=f"t{uuid.uuid4().hex[:8]}", **REDIS)

    async def one():
        async with store.lock("c1"):
            key = store.key_prefix + "c1"
            assert 0 < store.red.ttl(key) <= 120
        assert store.red.get(store.key_prefix + "c1") is None

    asyncio.run(one())
