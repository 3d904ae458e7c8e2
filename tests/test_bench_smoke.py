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
    table = {name: (ours, stock) for name, ours, stock in figures["turns"]["table"]}
    assert table["turn p50 ms, 1 sender"][0] > 0 and table["turn p50 ms, 1 sender"][1] > 0
    assert table["turns/s, 16 senders"][0] > 0
    assert "ours/stock" in (tmp_path / "bench.md").read_text()
