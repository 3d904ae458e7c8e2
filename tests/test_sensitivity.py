"""SensitivityClassifier's thresholds, chosen from out-of-fold probabilities."""
import numpy as np

from triage.rasa.sensitivity import choose_thresholds

CLASSES = ["answer", "crisis", "private"]


def test_the_answer_threshold_keeps_out_of_fold_over_escalation_within_the_budget():
    labels = np.array(["answer"] * 100 + ["private"] * 20)
    p_answer = np.concatenate([np.linspace(0.01, 1.0, 100), np.full(20, 0.1)])
    probabilities = np.stack([p_answer, np.zeros(120), 1 - p_answer], axis=1)
    thresholds = choose_thresholds(probabilities, labels, CLASSES, max_over_escalation=0.05, max_false_crisis=0.01)
    vetoed_routine = (p_answer[:100] < thresholds["answer_threshold"]).mean()
    assert 0.03 <= vetoed_routine <= 0.05
    assert thresholds["crisis_threshold"] >= 0.5  # never calls a crisis below even odds


def test_missing_decisions_give_a_reading_that_never_acts():
    # An admin's data with no crisis examples: no crisis from this reading at all.
    labels = np.array(["answer"] * 10 + ["private"] * 10)
    probabilities = np.tile([0.5, 0.5], (20, 1))
    assert choose_thresholds(probabilities, labels, ["answer", "private"], 0.02, 0.005)["crisis_threshold"] > 1.0
    # No routine examples: no veto.
    labels = np.array(["private"] * 10 + ["crisis"] * 10)
    assert choose_thresholds(probabilities, labels, ["crisis", "private"], 0.02, 0.005)["answer_threshold"] == 0.0
