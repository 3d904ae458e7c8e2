"""Retraining behind a safety gate: `triage train` (and `make train` / `make run`).

A new model goes live only when, on the held-out split, it meets the
foundation thresholds (triage.evaluate.THRESHOLDS) in every language and is
not worse than the model now serving by more than MARGIN on any of them.
Otherwise the serving model stays, the refusal is recorded beside the models
and in the audit log, and the reasons are printed. ``--force`` overrides the
gate, loudly and audited. Every gated candidate gets a report beside it
(models/candidates/<name>.gate.json: figures, checks, confusion matrix); the
console trains with ``activate=False`` and activates later (triage/deploy.py).

Models are named by a fingerprint of config.yml, domain.yml and data/, so
unchanged inputs never retrain; a validated model is also kept in a cache
outside the checkout, so a fresh clone with the same data does not retrain.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Tuple

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE, evaluate, intents
from triage.model import pointed_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MARGIN = 0.02
EXIT_REFUSED = 3


class TrainingError(RuntimeError):
    pass


def fingerprint(project: Path) -> str:
    """Same inputs, same name: config.yml, domain.yml and every data/ YAML file, in a fixed order."""
    files = [project / "config.yml", project / "domain.yml"] + sorted(
        (p for p in (project / "data").rglob("*.yml") if p.is_file()), key=lambda p: str(p.relative_to(project)))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir() -> Path:
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    base = os.environ.get("TRIAGE_MODEL_CACHE") or cache_home / "clinic-triage" / "models"
    return Path(base)


@dataclass
class Verdict:
    accepted: bool
    problems: List[str] = field(default_factory=list)


def checks(candidate: evaluate.Scores, current: Optional[evaluate.Scores], margin: float = MARGIN) -> List[Dict[str, Any]]:
    """Each threshold in each language: the candidate's figure, the serving model's, and whether it
    meets the threshold (``floor``) and stays within ``margin`` of the serving model (``margin_ok``)."""
    floor_problems = {language: candidate.failures(language) for language in evaluate.group_names(candidate.figures)}
    rows = []
    for language in evaluate.group_names(candidate.figures):
        for name, (op, bound) in evaluate.THRESHOLDS.items():
            new = candidate.figures[language][name]
            old = current.figures[language][name] if current is not None and language in current.figures else None
            floor = next((p for p in floor_problems[language] if p.startswith(f"{name} = ")), None)
            worse = None if old is None else (old - new if op == ">=" else new - old)
            margin_problem = None
            if worse is not None and worse > margin + 1e-9:
                margin_problem = (f"{name} ({language}) {new:.3f} is worse than the serving model's {old:.3f} "
                                  f"by more than {margin:.2f}")
            rows.append({"figure": name, "language": language, "candidate": new, "serving": old, "op": op,
                         "bound": bound, "floor_ok": floor is None, "margin_ok": margin_problem is None,
                         "passed": floor is None and margin_problem is None,
                         "problems": [p for p in (floor, margin_problem) if p]})
    return rows


def gate(candidate: evaluate.Scores, current: Optional[evaluate.Scores], margin: float = MARGIN) -> Verdict:
    rows = checks(candidate, current, margin)
    # Floors first, then the comparison with the serving model: the order `triage train` has always printed.
    problems = [row["problems"][0] for row in rows if not row["floor_ok"]]
    problems += [row["problems"][-1] for row in rows if not row["margin_ok"]]
    return Verdict(not problems, problems)


DECISIONS = (DECISION_ANSWER, DECISION_PRIVATE, DECISION_CRISIS)


def confusion(outcomes: List[evaluate.Outcome]) -> Dict[str, Dict[str, Dict[str, int]]]:
    """Counts only, never text: decisions expected -> got (answer/private/crisis), and for routine
    messages the intent expected -> the intent answered (an escalation counts as its decision)."""
    decisions = {expected: {got: 0 for got in DECISIONS} for expected in DECISIONS}
    routine: Dict[str, Dict[str, int]] = {}
    for outcome in outcomes:
        expected = evaluate.expected_decision(outcome.example.intent)
        decisions[expected][outcome.decision] = decisions[expected].get(outcome.decision, 0) + 1
        if outcome.example.intent in intents.ROUTINE:
            got = outcome.intent if outcome.decision == DECISION_ANSWER else outcome.decision
            row = routine.setdefault(outcome.example.intent, {})
            row[got] = row.get(got, 0) + 1
    return {"decisions": decisions, "routine_intents": routine}


def evaluate_model(model: Path, out: IO[str], label: str,
                   project: Optional[Path] = None) -> Tuple[evaluate.Scores, Dict[str, Any]]:
    from triage.model import Parser

    examples = evaluate.load_evaluation_sets(project)
    external = sum(e.language.startswith(evaluate.EXTERNAL_PREFIX) for e in examples)
    sets = f"the held-out split and {external} external messages" if external else "the held-out split"
    out.write(f"==> Evaluating {label} ({model.name}) on {sets}\n")
    parser = Parser(model)
    outcomes = []
    for index, example in enumerate(examples, start=1):
        outcomes.extend(evaluate.run([example], parser.triage))
        if index % 100 == 0 or index == len(examples):
            out.write(f"    {index}/{len(examples)} messages\n")
            out.flush()
    return evaluate.score(outcomes), confusion(outcomes)


def _scores_path(model: Path) -> Path:
    return model.with_name(model.name.replace(".tar.gz", ".eval.json"))


def gate_report_path(models: Path, name: str) -> Path:
    """The gate's report on a candidate, kept in models/candidates/ whether or not it went live."""
    return models / "candidates" / f"{name}.gate.json"


def _heldout_fingerprint(project: Optional[Path] = None) -> str:
    digest = hashlib.sha256()
    for path in evaluate.evaluation_files(project):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def evaluation_for(model: Path, out: IO[str], label: str,
                   project: Optional[Path] = None) -> Tuple[evaluate.Scores, Dict[str, Any]]:
    """Held-out scores and confusion counts of ``model``, cached beside it for the current held-out split."""
    path = _scores_path(model)
    heldout = _heldout_fingerprint(project)
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("heldout") == heldout and "confusion" in saved:
            return evaluate.Scores(figures=saved["figures"], counts=saved["counts"]), saved["confusion"]
    scores, matrix = evaluate_model(model, out, label, project)
    path.write_text(json.dumps({"heldout": heldout, "figures": scores.figures, "counts": scores.counts,
                                "confusion": matrix}, indent=1))
    return scores, matrix


def scores_for(model: Path, out: IO[str], label: str, project: Optional[Path] = None) -> evaluate.Scores:
    return evaluation_for(model, out, label, project)[0]


def write_gate_report(path: Path, name: str, serving: Optional[Path], verdict: Verdict, margin: float,
                      candidate: Tuple[evaluate.Scores, Dict[str, Any]],
                      current: Optional[Tuple[evaluate.Scores, Dict[str, Any]]]) -> Dict[str, Any]:
    """Figures, counts and confusion counts only: the held-out messages themselves stay out."""
    report = {
        "model": name, "serving": serving.name[:-len(".tar.gz")] if serving else None, "created_at": time.time(),
        "verdict": "accepted" if verdict.accepted else "refused", "problems": verdict.problems, "margin": margin,
        "thresholds": {figure: [op, bound] for figure, (op, bound) in evaluate.THRESHOLDS.items()},
        "languages": evaluate.group_names(candidate[0].figures),
        "candidate": {"figures": candidate[0].figures, "counts": candidate[0].counts, "confusion": candidate[1]},
        "serving_model": None if current is None else {"figures": current[0].figures, "counts": current[0].counts,
                                                       "confusion": current[1]},
        "checks": checks(candidate[0], current[0] if current else None, margin),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(path)  # a reader never sees half a report
    return report


def summary(candidate: evaluate.Scores, current: Optional[evaluate.Scores]) -> str:
    lines = [f"{'figure':<18}{'language':<10}{'new':>8}{'serving':>9}{'needs':>9}"]
    for name, (op, bound) in evaluate.THRESHOLDS.items():
        for language in evaluate.group_names(candidate.figures):
            old = f"{current.figures[language][name]:.3f}" if current and language in current.figures else "-"
            lines.append(f"{name:<18}{language:<10}{candidate.figures[language][name]:>8.3f}{old:>9}{op:>5} {bound:.2f}")
    return "\n".join(lines)


def _audit(event: str, actor: str, details: Dict, out: IO[str], required: bool) -> None:
    try:
        from triage import services

        services.default().audit.append(event, actor=actor, outcome=details.get("outcome", "ok"), details=details)
    except Exception as exc:  # noqa: BLE001
        if required:
            raise TrainingError(f"cannot write the audit record ({type(exc).__name__}: {exc}); "
                                "a forced activation must be audited") from exc
        out.write(f"    (not audited: {type(exc).__name__}; configure the master key to audit training)\n")


def _activate(candidate: Path, models: Path) -> Path:
    """Moves an accepted candidate into models/ and points models/.current at it; the model it
    replaces is named in models/.previous, for a rollback."""
    model = models / candidate.name
    if candidate != model:
        candidate.replace(model)
        if _scores_path(candidate).exists():
            _scores_path(candidate).replace(_scores_path(model))
    # Rasa picks the newest archive when no model is named: keep that the served one too.
    os.utime(model)
    point(models, model)
    cache = cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copy2(model, cache / model.name)
        if _scores_path(model).exists():
            shutil.copy2(_scores_path(model), cache / _scores_path(model).name)
    except OSError:
        pass  # the cache only saves time
    return model


def point(models: Path, model: Path) -> None:
    """models/.current names ``model``; the one it named before goes to models/.previous."""
    serving = pointed_model(models)
    if serving is not None and serving.resolve() != model.resolve():
        _write_pointer(models / ".previous", models, serving)
    _write_pointer(models / ".current", models, model)


def _write_pointer(pointer: Path, models: Path, model: Path) -> None:
    # Relative when inside models/: the checkout may move.
    name = f"{models.name}/{model.name}" if model.parent.resolve() == models.resolve() else str(model)
    tmp = pointer.with_name(pointer.name + ".tmp")
    tmp.write_text(name + "\n")
    tmp.replace(pointer)  # scripts/run and the console read it at any time


def rasa_train_command(project: Path, out: Path, name: str) -> List[str]:
    """`rasa train` of a project laid out as Rasa's (config.yml, domain.yml, data/)."""
    return [sys.executable, "-m", "rasa", "train", "--fixed-model-name", name, "--out", str(out),
            "--config", str(project / "config.yml"), "--domain", str(project / "domain.yml"),
            "--data", str(project / "data")]


def train(project: Path = PROJECT_ROOT, out: IO[str] = sys.stdout, force: bool = False,
          actor: str = "system", margin: float = MARGIN, if_needed: bool = False, activate: bool = True,
          rasa_log: Optional[Path] = None) -> int:
    """``activate=False`` (the console's training jobs): gate and report, but leave an accepted
    candidate in models/candidates/ until an admin activates it (triage/deploy.py).
    ``rasa_log``: where `rasa train` writes its own output (else this process's stdout)."""
    if force and not activate:
        raise TrainingError("--force activates; it cannot be combined with training without activating")
    project = project.resolve()
    models = project / "models"
    models.mkdir(exist_ok=True)
    name = f"triage-{fingerprint(project)}"
    target = models / f"{name}.tar.gz"
    refused_marker = models / f"{name}.refused"
    current = pointed_model(models)

    if current == target:
        out.write(f"==> Model up to date: {target.relative_to(project)}\n")
        return 0
    if if_needed and refused_marker.exists() and not force:
        out.write(f"==> The model for the current data ({name}) was refused by the safety gate:\n"
                  f"{refused_marker.read_text()}")
        if current is None:
            raise TrainingError("no model passes the safety gate; fix the training data, or use "
                                "`triage train --force --admin NAME` knowing what it overrides")
        out.write(f"==> Still serving {current.relative_to(project) if project in current.parents else current}\n")
        return 0

    # A model waits in models/candidates/ until the gate accepts it: Rasa serves the
    # newest archive in models/ when none is named, and that must never be a refused one.
    candidates = models / "candidates"
    candidates.mkdir(exist_ok=True)
    candidate = candidates / target.name
    cached = cache_dir() / target.name
    started = time.time()
    if target.exists():
        candidate = target  # trained and accepted before, e.g. switching back to earlier data
    elif not candidate.exists() and cached.exists():
        shutil.copy2(cached, candidate)
        if (cache_dir() / _scores_path(target).name).exists():
            shutil.copy2(cache_dir() / _scores_path(target).name, _scores_path(candidate))
        out.write(f"==> Restored {target.name} from {cache_dir()} (validated before)\n")
    elif not candidate.exists():
        out.write("==> Training a new model (data or config changed): about 2 minutes\n")
        out.flush()
        if rasa_log is None:
            result = subprocess.run(rasa_train_command(project, candidates, name), cwd=project)
        else:
            with open(rasa_log, "ab") as log:
                result = subprocess.run(rasa_train_command(project, candidates, name), cwd=project, stdout=log,
                                        stderr=subprocess.STDOUT)
        if result.returncode != 0 or not candidate.exists():
            raise TrainingError(f"rasa train failed (exit {result.returncode}); the serving model is unchanged")
        seconds = round(time.time() - started)
        (models / ".train-seconds").write_text(f"{seconds}\n")
        out.write(f"==> Trained {target.name} in {seconds} s\n")

    new_evaluation = evaluation_for(candidate, out, "the new model", project)
    old_evaluation = evaluation_for(current, out, "the serving model", project) if current else None
    new_scores, old_scores = new_evaluation[0], old_evaluation[0] if old_evaluation else None
    verdict = gate(new_scores, old_scores, margin)
    write_gate_report(gate_report_path(models, name), name, current, verdict, margin, new_evaluation, old_evaluation)
    out.write("\n" + summary(new_scores, old_scores) + "\n\n")
    details = {"model": target.name, "previous": current.name if current else None,
               "figures": new_scores.figures.get("all", {})}
    if verdict.accepted and not activate:
        refused_marker.unlink(missing_ok=True)
        out.write(f"==> ACCEPTED: {target.name} passed the safety gate; it goes live when an admin activates it\n")
        return 0
    if verdict.accepted:
        _activate(candidate, models)
        refused_marker.unlink(missing_ok=True)
        _audit("model_activated", actor, {**details, "forced": False}, out, required=False)
        out.write(f"==> ACCEPTED: {target.name} is now the serving model (restart `make run` to load it)\n")
        return 0
    reasons = "".join(f"    - {problem}\n" for problem in verdict.problems)
    if force:
        out.write("!" * 78 + "\n")
        out.write(f"!!! FORCED: activating {target.name} although the safety gate REFUSED it:\n{reasons}"
                  f"!!! Patients may get automatic answers to sensitive messages. Recorded in the audit log as {actor}.\n")
        out.write("!" * 78 + "\n")
        _audit("model_activated", actor, {**details, "forced": True, "overridden": verdict.problems}, out,
               required=True)
        _activate(candidate, models)
        refused_marker.unlink(missing_ok=True)
        return 0
    refused_marker.write_text(reasons)
    _audit("model_refused", actor, {**details, "outcome": "refused", "problems": verdict.problems}, out,
           required=False)
    out.write(f"==> REFUSED: {target.name} does not go live:\n{reasons}")
    if current is None and activate:
        raise TrainingError("no model passes the safety gate; fix the training data, or use "
                            "`triage train --force --admin NAME` knowing what it overrides")
    out.write(f"==> Still serving {current.name if current else 'no model'}. The refused model is kept at "
              f"{candidate.relative_to(project)} for inspection.\n")
    return EXIT_REFUSED
