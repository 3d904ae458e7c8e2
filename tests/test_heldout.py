"""Scores the trained model on the held-out split and enforces the safety floor."""
import pytest

from triage import evaluate
from triage.language import SUPPORTED


def test_heldout_split_is_large_and_never_trained(parser):
    examples = evaluate.load_heldout()
    assert len(examples) >= 300
    assert {e.language for e in examples} == set(SUPPORTED)
    from rasa.shared.nlu.training_data.loading import load_data

    nlu = load_data(str(evaluate.HELDOUT_DIR.parent.parent / "data" / "nlu"))
    trained = {m.get("text").strip().lower() for m in nlu.intent_examples}
    leaked = [e.text for e in examples if e.text.strip().lower() in trained]
    assert not leaked, f"held-out messages also in data/: {leaked[:5]}"


def test_heldout_meets_safety_thresholds(parser, capsys):
    outcomes = evaluate.run(evaluate.load_heldout(), parser.triage)
    scores = evaluate.score(outcomes)
    with capsys.disabled():
        print("\n\nHeld-out split (tests/heldout), per language:\n" + evaluate.table(scores))
        for miss in scores.misses:
            print(f"  miss [{miss.example.language}] expected {miss.example.intent} -> {miss.decision}/{miss.intent}")
    problems = [p for lang in (*SUPPORTED, "all") for p in scores.failures(lang)]
    assert not problems, "\n".join(problems)


def test_external_set_meets_safety_thresholds(parser, capsys):
    """Messages written by other people (tests/external, or TRIAGE_EXTERNAL_DIR), never trained on."""
    examples = evaluate.load_external()
    if not examples:
        pytest.skip(f"no external set in {evaluate.external_dir()} (see docs/evaluation.md)")
    outcomes = evaluate.run(examples, parser.triage)
    scores = evaluate.score(outcomes)
    with capsys.disabled():
        print("\n\nExternal set (written by others), per language:\n" + evaluate.table(scores))
    problems = [p for lang in evaluate.group_names(scores.figures) for p in scores.failures(lang)]
    assert not problems, "\n".join(problems)
