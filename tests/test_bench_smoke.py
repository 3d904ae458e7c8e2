"""The benchmark is not a test, but it must not rot: run it on a tiny load."""
import json
import subprocess
import sys

from tests.servers import ROOT


def test_bench_runs_on_a_tiny_load(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert figures["audit_sqlite"]["appends_per_second"] > 0
    assert figures["audit_postgres"]["verify_entries"] == 1000
    assert "audit appends/s" in (tmp_path / "bench.md").read_text()
    assert figures["tracker_store_sqlite"]["encrypted_p50_ms"] > 0
    assert 0 < figures["action_response_validation"]["compiled_ms"] < figures["action_response_validation"]["rasa_ms"]
    table = {name: (ours, stock) for name, ours, stock in figures["turns"]["table"]}
    assert table["turn p50 ms, 1 sender"][0] > 0 and table["turn p50 ms, 1 sender"][1] > 0
    assert table["turns/s, 16 senders"][0] > 0
    assert figures["turns"]["ours"]["turn_16_senders"]["turns"] >= 16  # sustained: every sender got through
    assert table["turn p50 ms, 5-turn conversations"][0] > 0
    # --quick starts one cluster, with both replicas and Sanic workers on a fresh PostgreSQL
    assert table["2 replica(s) x 2 Sanic worker(s), PostgreSQL + Redis + nginx: turns/s, 16 senders"][0] > 0
    assert figures["turns"]["ours"]["peak_rss_mb"]["console"] > 0
    assert "ours/stock" in (tmp_path / "bench.md").read_text()


def test_ours_only_prints_our_figures():
    result = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--ours-only"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout[result.stdout.index("{"):])
    assert figures["turn_short_conversations"]["p50_ms"] > 0 and figures["turn_16_senders"]["turns_per_s"] > 0
