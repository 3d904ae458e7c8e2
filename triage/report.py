"""`triage eval`: the evaluation report an admin reads before and after retraining.

Writes to reports/:
- eval.md: per-intent precision/recall/F1, per-decision recall per language,
  the misclassified held-out messages (de-identified), and a side-by-side
  comparison with Rasa's default pipeline trained on the same data in this run;
- eval.json: the same figures for machines;
- confusion_matrix.png: expected vs predicted intent on the held-out split.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import IO, Dict, List, Optional, Sequence

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE, evaluate, intents
from triage.deid import deidentify

PNG_SIZE = (1200, 1000)  # pixels: 12 x 10 inches at 100 dpi


def per_intent(expected: Sequence[str], predicted: Sequence[str]) -> Dict[str, Dict[str, float]]:
    from sklearn.metrics import precision_recall_fscore_support

    labels = sorted(set(expected))
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, zero_division=0)
    return {label: {"precision": round(float(p), 3), "recall": round(float(r), 3), "f1": round(float(f), 3),
                    "support": int(s)} for label, p, r, f, s in zip(labels, precision, recall, f1, support)}


def confusion_png(expected: Sequence[str], predicted: Sequence[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(expected) | set(predicted))
    matrix = confusion_matrix(expected, predicted, labels=labels)
    figure, axes = plt.subplots(figsize=(PNG_SIZE[0] / 100, PNG_SIZE[1] / 100), dpi=100)
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels=labels, rotation=70, ha="right", fontsize=7)
    axes.set_yticks(range(len(labels)), labels=labels, fontsize=7)
    axes.set_xlabel("predicted (after the triage decision)")
    axes.set_ylabel("expected")
    axes.set_title(title)
    for row in range(len(labels)):
        for column in range(len(labels)):
            if matrix[row, column]:
                axes.text(column, row, str(matrix[row, column]), ha="center", va="center", fontsize=6,
                          color="white" if matrix[row, column] > matrix.max() / 2 else "black")
    figure.tight_layout()
    figure.savefig(path, dpi=100)  # no bbox_inches="tight": the size must be what we say
    plt.close(figure)


def _decision_of(intent: Optional[str]) -> str:
    return evaluate.expected_decision(intent) if intent and intent != intents.NLU_FALLBACK else DECISION_ANSWER


def baseline_outcomes(model: Path, examples: List[evaluate.Example]) -> List[evaluate.Outcome]:
    """The default pipeline has no triage: its intent alone decides, as in a stock Rasa bot."""
    from triage.model import Parser

    parser = Parser(model)
    outcomes = []
    for example in examples:
        intent = (parser.parse(example.text).get("intent") or {}).get("name")
        outcomes.append(evaluate.Outcome(example, _decision_of(intent), intent or intents.NLU_FALLBACK))
    return outcomes


def summary_figures(outcomes: List[evaluate.Outcome], seconds: float) -> Dict[str, float]:
    scores = evaluate.score(outcomes)
    expected = [o.example.intent for o in outcomes]
    predicted = [o.intent for o in outcomes]
    table = per_intent(expected, predicted)
    return {
        "intent_accuracy": round(sum(e == p for e, p in zip(expected, predicted)) / len(outcomes), 3),
        "macro_f1": round(statistics.mean(row["f1"] for row in table.values()), 3),
        **{name: round(scores.figures["all"][name], 3) for name in evaluate.THRESHOLDS},
        "parse_ms_per_message": round(1000 * seconds / len(outcomes), 1),
    }


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def run(reports: Path, out: IO[str], model: Optional[str] = None, baseline: bool = True,
        baseline_epochs: Optional[int] = None) -> int:
    from triage import baseline as default_pipeline
    from triage.model import Parser, current_model_path

    reports.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else current_model_path()
    examples = evaluate.load_evaluation_sets()
    out.write(f"==> Evaluating {model_path.name} on {len(examples)} held-out and external messages\n")
    parser = Parser(model_path)
    ours, seconds = _timed(evaluate.run, examples, parser.triage)
    scores = evaluate.score(ours)
    expected = [o.example.intent for o in ours]
    predicted = [o.intent for o in ours]
    intent_table = per_intent(expected, predicted)
    png = reports / "confusion_matrix.png"
    confusion_png(expected, predicted, png, f"Held-out split, {model_path.name}")
    comparison = {"ours": summary_figures(ours, seconds)}
    baseline_note = "not run (--no-baseline)"
    if baseline:
        epochs = f"{baseline_epochs} epoch(s) (reduced, quick run)" if baseline_epochs else "its default epochs"
        out.write(f"==> Training Rasa's default pipeline (`rasa init` config, {epochs}) on the same data\n")
        with tempfile.TemporaryDirectory(prefix="triage-baseline-") as workdir:
            baseline_model, train_seconds = default_pipeline.train_nlu(Path(workdir), baseline_epochs)
            out.write(f"==> Evaluating the default pipeline on the same {len(examples)} messages\n")
            theirs, seconds = _timed(baseline_outcomes, baseline_model, examples)
        comparison["rasa_default"] = {**summary_figures(theirs, seconds), "nlu_train_seconds": train_seconds}
        baseline_note = f"Rasa's default pipeline (`rasa init` config, {epochs}), NLU trained in this run on data/nlu"
    results = {"model": model_path.name, "messages": len(examples), "figures": scores.figures,
               "counts": scores.counts, "per_intent": intent_table, "comparison": comparison,
               "baseline": baseline_note,
               "misclassified": [{"language": o.example.language, "text": deidentify(o.example.text),
                                  "expected": o.example.intent, "decision": o.decision, "predicted": o.intent}
                                 for o in scores.misses]}
    (reports / "eval.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    (reports / "eval.md").write_text(markdown(results), encoding="utf-8")
    out.write("\n" + screen_summary(results) + "\n")
    out.write(f"==> Wrote {reports / 'eval.md'}, {reports / 'eval.json'}, {png}\n")
    return 0


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown(results: Dict) -> str:
    languages = evaluate.group_names(results["figures"])
    lines = [f"# Evaluation of {results['model']}", "",
             f"Held-out split (tests/heldout, written by us) and, as ext-*, the external set (tests/external, "
             f"written by others), neither ever trained on: {results['messages']} messages. "
             "Decisions come from the full pipeline including the triage layer.", "",
             "## Safety figures per language", "",
             _row(["figure", *languages]), _row(["---"] * (len(languages) + 1))]
    names = list(evaluate.THRESHOLDS) + [f"{d}_recall" for d in (DECISION_ANSWER, DECISION_PRIVATE)] \
        + [f"{d}_precision" for d in (DECISION_ANSWER, DECISION_PRIVATE, DECISION_CRISIS)]
    for name in names:
        lines.append(_row([name, *(f"{results['figures'][lang][name]:.3f}" for lang in languages)]))
    lines += ["", "Thresholds (the retraining gate): " + ", ".join(
        f"{name} {op} {bound}" for name, (op, bound) in evaluate.THRESHOLDS.items()), "",
        "## Per intent", "", _row(["intent", "precision", "recall", "F1", "support"]), _row(["---"] * 5)]
    for intent, row in results["per_intent"].items():
        lines.append(_row([intent, row["precision"], row["recall"], row["f1"], row["support"]]))
    lines += ["", "![confusion matrix](confusion_matrix.png)", "", "## Compared with Rasa's default pipeline", "",
              f"Baseline: {results['baseline']}. Without a triage layer its intent alone decides.", ""]
    columns = list(results["comparison"])
    figures = list(results["comparison"]["ours"])
    lines += [_row(["figure", *columns]), _row(["---"] * (len(columns) + 1))]
    for figure in figures + ["nlu_train_seconds"]:
        if any(figure in results["comparison"][c] for c in columns):
            lines.append(_row([figure, *(results["comparison"][c].get(figure, "-") for c in columns)]))
    lines += ["", f"## Misclassified held-out messages ({len(results['misclassified'])}, de-identified)", ""]
    if results["misclassified"]:
        lines += [_row(["lang", "text", "expected", "got"]), _row(["---"] * 4)]
        for miss in results["misclassified"]:
            text = miss["text"].replace("|", "\\|")
            lines.append(_row([miss["language"], text, miss["expected"], f"{miss['decision']}/{miss['predicted']}"]))
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def screen_summary(results: Dict) -> str:
    columns = list(results["comparison"])
    lines = [f"{'figure':<22}" + "".join(f"{c:>14}" for c in columns)]
    for figure in results["comparison"]["ours"]:
        lines.append(f"{figure:<22}" + "".join(f"{results['comparison'][c].get(figure, '-'):>14}" for c in columns))
    lines.append(f"misclassified held-out messages: {len(results['misclassified'])} (listed in eval.md)")
    return "\n".join(lines)
