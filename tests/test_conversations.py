"""Runs the Rasa conversation tests (tests/test_conversations.yml) with `rasa test core`."""
import subprocess
from pathlib import Path

import yaml

from triage.model import current_model_path

ROOT = Path(__file__).resolve().parent.parent


def test_conversation_stories_pass(tmp_path):
    result = subprocess.run(
        [str(ROOT / ".venv/bin/rasa"), "test", "core", "--stories", "tests/test_conversations.yml",
         "--model", str(current_model_path()), "--out", str(tmp_path), "--no-plot"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    failed = tmp_path / "failed_test_stories.yml"
    text = failed.read_text() if failed.exists() else ""
    all_passed = not text.strip() or "None of the test stories failed" in text
    stories = None if all_passed else (yaml.safe_load(text) or {}).get("stories")
    assert not stories, f"failed conversation tests:\n{text}"
    report = tmp_path / "story_report.json"
    assert report.exists(), "rasa test core wrote no report"
