"""Schema creation when several processes start at once on an empty database."""
import multiprocessing

from sqlalchemy import create_engine, inspect

from tests.conftest import empty_pg


def _start(url, barrier, results):
    from triage import db

    barrier.wait(60)
    try:
        db.engine(url)
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}"[:300])


def test_workers_starting_together_on_empty_postgres_all_come_up(pg_url):
    """Two Sanic workers of one replica raced to CREATE TABLE and one died (CI, stop 10)."""
    from triage import db

    for attempt in range(3):  # the race is timing-dependent: several rounds make it show
        url = empty_pg(pg_url)
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_start, args=(url, barrier, results)) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
        outcomes = [results.get(timeout=5) for _ in workers]
        assert outcomes == ["ok"] * 4, f"round {attempt}: {outcomes}"
    engine = create_engine(url, future=True)
    assert set(db.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
