"""`make bench`: prints figures and writes reports/bench.json and reports/bench.md.

    python -m bench.run [--quick]      --quick: tiny loads, for the smoke test
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TRIAGE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
# (replicas, Sanic workers per replica) of the production topology, keyed by --quick.
CLUSTERS = {False: [(2, 1), (1, 2), (2, 2)], True: [(2, 2)]}
# How long each concurrent load runs, keyed by --quick.
LOAD_SECONDS = {False: 20.0, True: 2.0}


def _pg_database(name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def _serve_and_measure(bot, quick: bool) -> dict:
    from bench import turns

    started = time.perf_counter()
    bot.start(timeout=600)
    figures = {"cold_start_s": round(time.perf_counter() - started, 1)}
    figures["turn_1_sender"] = turns.sequential(bot.url, 20 if quick else 200)
    figures["turn_short_conversations"] = turns.short_conversations(bot.url, 20 if quick else 200)
    figures["turn_16_senders"] = turns.parallel(bot.url, 16, LOAD_SECONDS[quick])
    figures["turn_64_senders"] = turns.parallel(bot.url, 64, LOAD_SECONDS[quick])
    figures["model_parse"] = turns.parse_latency(bot.url, bot.env["RASA_AUTH_TOKEN"], 20 if quick else 200)
    rasa_pids = turns.process_pids(f"--port\0{bot.rasa_port}".encode())
    action_pids = turns.process_pids(f"--port\0{bot.actions_port}".encode())
    console_pids = turns.process_pids(f"serve\0--port\0{bot.console_port}".encode())
    turns.exercise_console(bot.console_url, 20 if quick else 200)
    figures["peak_rss_mb"] = {name: max((turns.peak_rss_mb(p) or 0) for p in pids) if pids else None
                              for name, pids in (("rasa", rasa_pids), ("actions", action_pids),
                                                 ("console", console_pids))}
    bot.stop()
    return figures


def cluster_figures(quick: bool, replicas: int = 2, workers: int = 1) -> dict:
    """The production topology (scripts/run-prod): replicas on PostgreSQL and Redis behind nginx,
    each with ``workers`` Sanic workers (Rasa allows more than one with a Redis lock store)."""
    from bench import turns
    from tests.servers import Cluster

    with tempfile.TemporaryDirectory() as tmp:
        print(f"turns: {replicas} replica(s) x {workers} Sanic worker(s) on PostgreSQL + Redis behind nginx ...",
              flush=True)
        cluster = Cluster(Path(tmp), _pg_database(f"triage_bench_cluster_{replicas}x{workers}"))
        cluster.env["TRIAGE_REPLICA_PORTS"] = " ".join(map(str, cluster.replica_ports[:replicas]))
        cluster.env["SANIC_WORKERS"] = str(workers)
        started = time.perf_counter()
        cluster.start(timeout=600)
        figures = {"cold_start_s": round(time.perf_counter() - started, 1),
                   "turn_1_sender": turns.sequential(cluster.url, 20 if quick else 200),
                   "turn_short_conversations": turns.short_conversations(cluster.url, 20 if quick else 200),
                   "turn_16_senders": turns.parallel(cluster.url, 16, LOAD_SECONDS[quick]),
                   "turn_64_senders": turns.parallel(cluster.url, 64, LOAD_SECONDS[quick])}
        cluster.stop()
    return figures


def turn_figures(quick: bool) -> dict:
    """Ours (make run) against stock Rasa, in one run on this machine."""
    from bench import turns
    from tests.servers import Assistant

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("turns: ours (encrypted store, triage, handoff) ...", flush=True)
        (tmp / "ours").mkdir()
        ours = _serve_and_measure(Assistant(tmp / "ours"), quick)
        print("turns: training stock Rasa (rasa init config) on our data ...", flush=True)
        stock_model = turns.train_stock(tmp, quick)
        (tmp / "stock-run").mkdir()
        (tmp / "stock-credentials.yml").write_text("rest:\n")
        stock_bot = Assistant(tmp / "stock-run", {"TRIAGE_MODEL": str(stock_model["model"]),
                                                  "TRIAGE_CREDENTIALS": str(tmp / "stock-credentials.yml")},
                              tracker_yaml="tracker_store:\n  type: in_memory\n")
        print("turns: stock Rasa ...", flush=True)
        stock = _serve_and_measure(stock_bot, quick)
        stock["train_seconds"] = stock_model["train_seconds"]
        if quick:
            ours["train_seconds"] = _our_training_seconds()
        else:
            print("training: ours, from scratch ...", flush=True)
            ours["train_seconds"] = turns.train_ours(tmp)
    table = [
        ("turn p50 ms, 1 sender", ours["turn_1_sender"]["p50_ms"], stock["turn_1_sender"]["p50_ms"]),
        ("turn p95 ms, 1 sender", ours["turn_1_sender"]["p95_ms"], stock["turn_1_sender"]["p95_ms"]),
        ("turn p50 ms, 5-turn conversations", ours["turn_short_conversations"]["p50_ms"],
         stock["turn_short_conversations"]["p50_ms"]),
        ("turn p95 ms, 5-turn conversations", ours["turn_short_conversations"]["p95_ms"],
         stock["turn_short_conversations"]["p95_ms"]),
        ("turns/s, 16 senders", ours["turn_16_senders"]["turns_per_s"], stock["turn_16_senders"]["turns_per_s"]),
        ("turn p95 ms, 16 senders", ours["turn_16_senders"]["p95_ms"], stock["turn_16_senders"]["p95_ms"]),
        ("turns/s, 64 senders", ours["turn_64_senders"]["turns_per_s"], stock["turn_64_senders"]["turns_per_s"]),
        ("turn p95 ms, 64 senders", ours["turn_64_senders"]["p95_ms"], stock["turn_64_senders"]["p95_ms"]),
        ("/model/parse p50 ms", ours["model_parse"]["p50_ms"], stock["model_parse"]["p50_ms"]),
        ("/model/parse p95 ms", ours["model_parse"]["p95_ms"], stock["model_parse"]["p95_ms"]),
        ("cold start to serving, s", ours["cold_start_s"], stock["cold_start_s"]),
        ("peak RSS Rasa, MB", ours["peak_rss_mb"]["rasa"], stock["peak_rss_mb"]["rasa"]),
        ("peak RSS action server, MB", ours["peak_rss_mb"]["actions"], stock["peak_rss_mb"]["actions"]),
        ("peak RSS staff console, MB", ours["peak_rss_mb"]["console"], "-"),
        ("training, s" + (" (ours: last make train)" if quick else " (full, empty cache)"), ours["train_seconds"],
         stock["train_seconds"]),
    ]
    # What the production topology buys, against the same stock single server. --quick starts one
    # cluster with both replicas and workers; tests/test_replicas.py covers the two-replica path.
    clusters = {f"{r}x{w}": cluster_figures(quick, replicas=r, workers=w) for r, w in CLUSTERS[quick]}
    for name, figures in clusters.items():
        replicas, workers = name.split("x")
        setup = f"{replicas} replica(s) x {workers} Sanic worker(s), PostgreSQL + Redis + nginx"
        for label, key, field in (("p50 ms, 1 sender", "turn_1_sender", "p50_ms"),
                                  ("p95 ms, 1 sender", "turn_1_sender", "p95_ms"),
                                  ("p50 ms, 5-turn conversations", "turn_short_conversations", "p50_ms"),
                                  ("turns/s, 16 senders", "turn_16_senders", "turns_per_s"),
                                  ("p95 ms, 16 senders", "turn_16_senders", "p95_ms"),
                                  ("turns/s, 64 senders", "turn_64_senders", "turns_per_s"),
                                  ("p95 ms, 64 senders", "turn_64_senders", "p95_ms")):
            table.append((f"{setup}: {label}", figures[key][field], stock[key][field]))
        table.append((f"{setup}: cold start, s", figures["cold_start_s"], stock["cold_start_s"]))
    return {"turns": {"ours": ours, "stock": stock, "clusters": clusters, "table": table}}


def ours_only(quick: bool) -> int:
    from tests.servers import Assistant

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ours").mkdir()
        figures = _serve_and_measure(Assistant(Path(tmp) / "ours"), quick)
    print(json.dumps(figures, indent=2))
    return 0


def _our_training_seconds():
    """From the last `make train` (scripts/train-if-needed records it), for --quick, which does
    not retrain: Rasa may have restored unchanged components from its cache in that one."""
    record = ROOT / "models" / ".train-seconds"
    return float(record.read_text()) if record.exists() else "not retrained"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "reports"))
    parser.add_argument("--skip-turns", action="store_true", help="stores only (no servers, no stock training)")
    parser.add_argument("--ours-only", action="store_true",
                        help="only our server's turn figures, in about two minutes (while optimising)")
    args = parser.parse_args(argv)
    if args.ours_only:
        return ours_only(args.quick)

    from bench import audit
    from triage import db
    from triage.keys import KeyStore

    appends, entries = (50, 1000) if args.quick else (2000, 100_000)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick}
    with tempfile.TemporaryDirectory() as tmp:
        keys = KeyStore.create_file(Path(tmp) / "keys.json")
        print(f"audit log: {appends} appends, verify {entries} entries ...", flush=True)
        results["audit_sqlite"] = audit.run(keys, f"sqlite:///{tmp}/bench.db", appends, entries)
        from bench import tracker

        print("tracker store: stock SQLTrackerStore vs encrypted, per turn ...", flush=True)
        results["tracker_store_sqlite"] = tracker.run(keys, Path(tmp), 40 if args.quick else 400)
        from bench import validation

        print("action response validation: Rasa's vs compiled once ...", flush=True)
        results["action_response_validation"] = validation.run(5 if args.quick else 50)
        pg = _pg_database("triage_bench")
        results["audit_postgres"] = audit.run(keys, pg, appends, entries)
        db.dispose_all()

    if not args.skip_turns:
        results.update(turn_figures(args.quick))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    sqlite, postgres = results["audit_sqlite"], results["audit_postgres"]
    lines = ["| figure | SQLite | PostgreSQL |", "|---|---|---|",
             f"| audit appends/s (one process) | {sqlite['appends_per_second']} | {postgres['appends_per_second']} |",
             f"| audit verify, {entries} entries (s) | {sqlite['verify_seconds']} | {postgres['verify_seconds']} |"]
    t = results["tracker_store_sqlite"]
    lines += ["", "| tracker store, one turn (SQLite) | p50 ms | p95 ms |", "|---|---|---|",
              f"| stock SQLTrackerStore | {t['stock_p50_ms']} | {t['stock_p95_ms']} |",
              f"| EncryptedSQLTrackerStore | {t['encrypted_p50_ms']} | {t['encrypted_p95_ms']} |",
              f"| overhead | {t['overhead_p50_ms']} | {t['overhead_p95_ms']} |"]
    v = results["action_response_validation"]
    lines += ["", "| action-server response validation, ms per call | Rasa 3.6 | compiled once (ours) |",
              "|---|---|---|", f"| one response | {v['rasa_ms']} | {v['compiled_ms']} |"]
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    if "turns" in results:
        lines += ["", "| turn figures | ours | stock Rasa | ours/stock |", "|---|---|---|---|"]
        for name, ours, stock in results["turns"]["table"]:
            ratio = f"{ours / stock:.2f}" if isinstance(ours, (int, float)) and isinstance(stock, (int, float)) and stock else "-"
            lines.append(f"| {name} | {ours} | {stock} | {ratio} |")
        (out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written: {out / 'bench.json'}, {out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
