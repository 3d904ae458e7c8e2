"""Scores a model on the held-out split (tests/heldout/, never trained on).

Figures, per language and overall:
- sensitive recall: sensitive or crisis messages that got private or crisis;
- crisis recall: crisis messages that got crisis;
- routine intent accuracy: routine messages answered with the right intent;
- over-escalation: routine messages that got private or crisis;
- precision of each decision.
The foundation thresholds live in THRESHOLDS; the retraining gate reuses them.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional

from rasa.shared.nlu.training_data.loading import load_data

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE, intents
from triage.language import SUPPORTED

HELDOUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "heldout"
# Messages written by other people (public data sets), never trained on: tests/external, or a
# folder of the same layout named by TRIAGE_EXTERNAL_DIR. Their languages are scored as "ext-en"...
EXTERNAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "external"
EXTERNAL_PREFIX = "ext-"
THRESHOLDS = {
    "sensitive_recall": (">=", 0.98),
    "crisis_recall": (">=", 1.00),
    "routine_accuracy": (">=", 0.95),
    "over_escalation": ("<=", 0.03),
}


expected_decision = intents.decision_for


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str


@dataclass
class Outcome:
    example: Example
    decision: str
    intent: str


def load_heldout(directory: Path = HELDOUT_DIR, prefix: str = "") -> List[Example]:
    examples = []
    for path in sorted(directory.glob("*.yml")):
        data = load_data(str(path))
        for message in data.intent_examples:
            examples.append(Example(message.get("text"), message.get("intent"), prefix + path.stem))
    return examples


def evaluation_root(project: Optional[Path] = None) -> Path:
    """Whose tests/heldout/ (and tests/external/) judge ``project``: its own when it has one.
    A copy of the project with only config.yml, domain.yml and data/ is judged on this checkout's."""
    if project is not None and (Path(project) / "tests" / "heldout").is_dir():
        return Path(project)
    return HELDOUT_DIR.parent.parent


def heldout_dir(project: Optional[Path] = None) -> Path:
    return evaluation_root(project) / "tests" / "heldout"


def external_dir(project: Optional[Path] = None) -> Path:
    return Path(os.environ.get("TRIAGE_EXTERNAL_DIR") or evaluation_root(project) / "tests" / "external")


def load_external(project: Optional[Path] = None) -> List[Example]:
    """The external set, if there is one (its languages prefixed "ext-")."""
    directory = external_dir(project)
    return load_heldout(directory, EXTERNAL_PREFIX) if directory.is_dir() else []


def load_evaluation_sets(project: Optional[Path] = None) -> List[Example]:
    """What the gate and `triage eval` judge: the held-out split and the external set."""
    return load_heldout(heldout_dir(project)) + load_external(project)


def evaluation_files(project: Optional[Path] = None) -> List[Path]:
    directories = [heldout_dir(project)] + ([external_dir(project)] if external_dir(project).is_dir() else [])
    return [path for directory in directories for path in sorted(directory.glob("*.yml"))]


def group_names(figures: Mapping[str, object]) -> List[str]:
    """Languages in a fixed order: the held-out split's, then the external set's."""
    order = [*SUPPORTED, "all"]
    order += [EXTERNAL_PREFIX + name for name in order]
    return [name for name in order if name in figures] + sorted(set(figures) - set(order))


def run(examples: Iterable[Example], triage: Callable[[str], Mapping]) -> List[Outcome]:
    outcomes = []
    for example in examples:
        result = triage(example.text)
        outcomes.append(Outcome(example, result["decision"], result["intent"]))
    return outcomes


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


@dataclass
class Scores:
    figures: Dict[str, Dict[str, float]] = field(default_factory=dict)  # language -> figure -> value
    counts: Dict[str, Dict[str, int]] = field(default_factory=dict)
    misses: List[Outcome] = field(default_factory=list)

    def failures(self, language: str = "all") -> List[str]:
        problems = []
        for name, (op, bound) in THRESHOLDS.items():
            value = self.figures[language][name]
            ok = value >= bound if op == ">=" else value <= bound
            if not ok:
                problems.append(f"{name} = {value:.3f} ({language}), needs {op} {bound:.2f}")
        return problems


def score(outcomes: List[Outcome]) -> Scores:
    groups: Dict[str, List[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[outcome.example.language].append(outcome)
        external = outcome.example.language.startswith(EXTERNAL_PREFIX)
        groups[EXTERNAL_PREFIX + "all" if external else "all"].append(outcome)
    scores = Scores()
    for language, group in groups.items():
        sensitive = [o for o in group if o.example.intent in intents.ESCALATING]
        crisis = [o for o in group if o.example.intent in intents.CRISIS]
        routine = [o for o in group if expected_decision(o.example.intent) == DECISION_ANSWER]
        figures = {
            "sensitive_recall": _ratio(sum(o.decision != DECISION_ANSWER for o in sensitive), len(sensitive)),
            "crisis_recall": _ratio(sum(o.decision == DECISION_CRISIS for o in crisis), len(crisis)),
            "routine_accuracy": _ratio(sum(o.decision == DECISION_ANSWER and o.intent == o.example.intent for o in routine),
                                       len(routine)),
            "over_escalation": _ratio(sum(o.decision != DECISION_ANSWER for o in routine), len(routine)),
        }
        for decision in (DECISION_ANSWER, DECISION_PRIVATE, DECISION_CRISIS):
            predicted = [o for o in group if o.decision == decision]
            actual = [o for o in group if expected_decision(o.example.intent) == decision]
            figures[f"{decision}_precision"] = _ratio(sum(expected_decision(o.example.intent) == decision for o in predicted),
                                                      len(predicted))
            figures[f"{decision}_recall"] = _ratio(sum(o.decision == decision for o in actual), len(actual))
        scores.figures[language] = figures
        scores.counts[language] = {"messages": len(group), "routine": len(routine), "sensitive": len(sensitive),
                                   "crisis": len(crisis)}
    scores.misses = [
        o for o in outcomes
        if (expected_decision(o.example.intent) == DECISION_ANSWER
            and (o.decision != DECISION_ANSWER or o.intent != o.example.intent))
        or (o.example.intent in intents.ESCALATING and o.decision == DECISION_ANSWER)
        or (o.example.intent in intents.CRISIS and o.decision != DECISION_CRISIS)
    ]
    return scores


def table(scores: Scores) -> str:
    languages = group_names(scores.figures)
    names = ["sensitive_recall", "crisis_recall", "routine_accuracy", "over_escalation",
             "answer_precision", "answer_recall", "private_precision", "private_recall",
             "crisis_precision"]
    lines = [f"{'figure':<18}" + "".join(f"{lang:>9}" for lang in languages)]
    lines.append(f"{'messages':<18}" + "".join(f"{scores.counts[lang]['messages']:>9}" for lang in languages))
    for name in names:
        lines.append(f"{name:<18}" + "".join(f"{scores.figures[lang][name]:>9.3f}" for lang in languages))
    return "\n".join(lines)
