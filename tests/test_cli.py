"""`triage classify` follows the batch contract in docs/configuration.md."""
import json
import subprocess
from pathlib import Path

import pytest

from triage.language import SUPPORTED

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = str(ROOT / ".venv" / "bin" / "triage")
KEYS = ["text", "decision", "intent", "confidence", "language"]


def classify(stdin: str, *args: str):
    result = subprocess.run([TRIAGE, "classify", *args], input=stdin, capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return result, rows


@pytest.fixture(scope="module")
def batch():
    lines = [
        "what are your opening hours?",
        json.dumps({"text": "I need a refill of my metformin"}),
        json.dumps({"text": "ich will nicht mehr leben", "id": 7}),
        "",
        "¿dónde puedo aparcar?",
        '{"text": "broken json',
        json.dumps({"no_text": "x"}),
        "Do you offer HIV testing?",
        '/ask_opening_hours{"note": "i want to kill myself"}',  # Rasa's intent-shortcut syntax
    ]
    return classify("\n".join(lines) + "\n")


def test_one_output_line_per_input_line_in_order(batch):
    result, rows = batch
    assert len(rows) == 9
    assert rows[0]["text"] == "what are your opening hours?"
    assert rows[1]["text"] == "I need a refill of my metformin"


def test_output_has_exactly_the_contract_keys(batch):
    _, rows = batch
    for row in rows:
        if "error" not in row:
            assert list(row) == KEYS
            assert row["decision"] in ("answer", "private", "crisis")
            assert 0.0 <= row["confidence"] <= 1.0
            assert row["language"] in (*SUPPORTED, "other")


def test_decisions(batch):
    _, rows = batch
    assert (rows[0]["decision"], rows[0]["intent"]) == ("answer", "ask_opening_hours")
    assert rows[1]["decision"] == "private" and rows[1]["intent"].startswith("disclose_")
    assert rows[2]["decision"] == "crisis" and rows[2]["language"] == "de"
    assert rows[3]["decision"] == "answer"  # an empty line is an empty message
    assert (rows[4]["intent"], rows[4]["language"]) == ("ask_location", "es")
    assert (rows[7]["decision"], rows[7]["intent"]) == ("answer", "ask_services")
    # Classified as words (it crashed the batch before), not as the intent it names.
    assert rows[8]["decision"] == "crisis" and rows[8]["text"].startswith("/ask_opening_hours")


def test_bad_lines_are_reported_in_place_and_exit_code_is_2(batch):
    result, rows = batch
    assert rows[5] == {"text": None, "error": rows[5]["error"]} and "line 6" in rows[5]["error"]
    assert "line 7" in rows[6]["error"]
    assert "line 6" in result.stderr and "line 7" in result.stderr
    assert result.returncode == 2


def test_file_argument_and_clean_exit(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("hi\nthanks\n", encoding="utf-8")
    result, rows = classify("", str(path))
    assert result.returncode == 0
    assert [r["intent"] for r in rows] == ["greet", "thank_you"]
    assert "processor.message.parse" not in result.stdout + result.stderr  # no debug log of text


def test_missing_model_is_a_clear_error(tmp_path):
    result, _ = classify("hi\n", "--model", str(tmp_path / "nope.tar.gz"))
    assert result.returncode == 1
    assert "model not found" in result.stderr


def test_a_line_that_fails_inside_the_model_is_reported_and_the_batch_goes_on(monkeypatch):
    import io

    from triage import model
    from triage.cli import classify as cli

    class Failing:
        def __init__(self, _path=None):
            pass

        def triage(self, text, metadata):
            if "boom" in text:
                raise KeyError("triage")
            return {"decision": "answer", "intent": "greet", "confidence": 0.9, "language": "en"}

    monkeypatch.setattr(model, "Parser", Failing)
    out, err = io.StringIO(), io.StringIO()
    code = cli.classify(io.StringIO("hello\nmy boom secret\nbye\n"), out, err)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 2 and [r.get("decision") for r in rows] == ["answer", None, "answer"]
    assert rows[1]["error"] == "line 2: could not be classified (KeyError)"
    assert "secret" not in err.getvalue()
