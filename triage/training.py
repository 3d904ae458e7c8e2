"""Retraining behind a safety gate: `triage train` (and `make train` / `make run`).

A new model goes live only when, on the held-out split, it meets the
foundation thresholds (triage.evaluate.THRESHOLDS) in every language and is
not worse than the model now serving by more than MARGIN on any of them.
Otherwise the serving model stays, the refusal is recorded beside the models
and in the audit log, and the reasons are printed. ``--force`` overrides the
gate, loudly and audited.

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
from typing import IO, Dict, List, Optional

from triage import evaluate
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


def gate(candidate: evaluate.Scores, current: Optional[evaluate.Scores], margin: float = MARGIN) -> Verdict:
    problems = []
    for language in evaluate.group_names(candidate.figures):
        problems += candidate.failures(language)
    if current is not None:
        for language in evaluate.group_names(candidate.figures):
            if language not in current.figures:
                continue
            for name, (op, _) in evaluate.THRESHOLDS.items():
                new, old = candidate.figures[language][name], current.figures[language][name]
                worse = old - new if op == ">=" else new - old
                if worse > margin + 1e-9:
                    problems.append(f"{name} ({language}) {new:.3f} is worse than the serving model's {old:.3f} "
                                    f"by more than {margin:.2f}")
    return Verdict(not problems, problems)


def evaluate_model(model: Path, out: IO[str], label: str) -> evaluate.Scores:
    from triage.model import Parser

    examples = evaluate.load_evaluation_sets()
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
    return evaluate.score(outcomes)


def _scores_path(model: Path) -> Path:
    return model.with_name(model.name.replace(".tar.gz", ".eval.json"))


def _heldout_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in evaluate.evaluation_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def scores_for(model: Path, out: IO[str], label: str) -> evaluate.Scores:
    """Held-out scores of ``model``, cached beside it for the current held-out split."""
    path = _scores_path(model)
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("heldout") == _heldout_fingerprint():
            return evaluate.Scores(figures=saved["figures"], counts=saved["counts"])
    scores = evaluate_model(model, out, label)
    path.write_text(json.dumps({"heldout": _heldout_fingerprint(), "figures": scores.figures,
                                "counts": scores.counts}, indent=1))
    return scores


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
    model = models / candidate.name
    if candidate != model:
        candidate.replace(model)
        if _scores_path(candidate).exists():
            _scores_path(candidate).replace(_scores_path(model))
    # Rasa picks the newest archive when no model is named: keep that the served one too.
    os.utime(model)
    (models / ".current").write_text(f"{models.name}/{model.name}\n")  # relative: the checkout may move
    cache = cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copy2(model, cache / model.name)
        if _scores_path(model).exists():
            shutil.copy2(_scores_path(model), cache / _scores_path(model).name)
    except OSError:
        pass  # the cache only saves time
    return model


def rasa_train_command(project: Path, out: Path, name: str) -> List[str]:
    """`rasa train` of a project laid out as Rasa's (config.yml, domain.yml, data/)."""
    return [sys.executable, "-m", "rasa", "train", "--fixed-model-name", name, "--out", str(out),
            "--config", str(project / "config.yml"), "--domain", str(project / "domain.yml"),
            "--data", str(project / "data")]


def train(project: Path = PROJECT_ROOT, out: IO[str] = sys.stdout, force: bool = False,
          actor: str = "system", margin: float = MARGIN, if_needed: bool = False) -> int:
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
        result = subprocess.run(rasa_train_command(project, candidates, name), cwd=project)
        if result.returncode != 0 or not candidate.exists():
            raise TrainingError(f"rasa train failed (exit {result.returncode}); the serving model is unchanged")
        seconds = round(time.time() - started)
        (models / ".train-seconds").write_text(f"{seconds}\n")
        out.write(f"==> Trained {target.name} in {seconds} s\n")

    new_scores = scores_for(candidate, out, "the new model")
    old_scores = scores_for(current, out, "the serving model") if current else None
    verdict = gate(new_scores, old_scores, margin)
    out.write("\n" + summary(new_scores, old_scores) + "\n\n")
    details = {"model": target.name, "previous": current.name if current else None,
               "figures": new_scores.figures.get("all", {})}
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
    if current is None:
        raise TrainingError("no model passes the safety gate; fix the training data, or use "
                            "`triage train --force --admin NAME` knowing what it overrides")
    out.write(f"==> Still serving {current.name}. The refused model is kept at "
              f"{candidate.relative_to(project)} for inspection.\n")
    return EXIT_REFUSED
