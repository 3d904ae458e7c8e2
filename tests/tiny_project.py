"""A tiny copy of the project for tests that train: a few English intents, DIET with few
epochs, and a small, clear held-out split inside the copy (tests/heldout/, as in the real
project). A full `rasa train` of our data takes minutes; this one takes seconds.

The held-out messages are taken from the tiny training data itself: the point of these
tests is the training and deployment path, not the model's quality, which tests/test_heldout.py
judges on the real split. Crisis messages are also caught by the red flags, and the
disclosures by the health backstop, so the tiny model passes the foundation thresholds.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ROUTINE = ("ask_opening_hours", "ask_location", "ask_contact", "ask_billing_insurance")
ESCALATING = ("disclose_symptoms", "disclose_mental_health", "crisis_self_harm", "crisis_medical_emergency")
EPOCHS = 20
TRAIN_PER_INTENT = 20
HELDOUT_PER_INTENT = 4


def _examples(language: str = "en") -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    # The plain files only: follow-up turns ("what's their number?") need the dialogue data.
    for path in (ROOT / "data" / "nlu" / language / f"{name}.yml" for name in ("routine", "sensitive", "crisis")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in block and block["intent"] in ROUTINE + ESCALATING:
                lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
                found.setdefault(block["intent"], []).extend(lines)
    return found


def _nlu(blocks: Dict[str, List[str]]) -> str:
    text = 'version: "3.1"\nnlu:\n'
    for intent, lines in blocks.items():
        text += f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {line}\n" for line in lines)
    return text


def build(target: Path) -> Path:
    """The tiny project in ``target`` (config.yml, domain.yml, data/, tests/heldout/, models/)."""
    target.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "config.yml").read_text()
    epochs = re.search(r"^    epochs: (\d+)$", config, re.M)
    assert epochs, "config.yml: DIETClassifier has no epochs line"
    (target / "config.yml").write_text(config.replace(epochs.group(0), f"    epochs: {EPOCHS}", 1))
    shutil.copy(ROOT / "domain.yml", target / "domain.yml")
    (target / "data" / "nlu" / "en").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "data" / "rules.yml", target / "data" / "rules.yml")
    examples = _examples()
    training = {intent: examples[intent][:TRAIN_PER_INTENT] for intent in ROUTINE + ESCALATING}
    (target / "data" / "nlu" / "en" / "tiny.yml").write_text(_nlu(training))
    heldout = {intent: lines[:HELDOUT_PER_INTENT] for intent, lines in training.items()}
    (target / "tests" / "heldout").mkdir(parents=True, exist_ok=True)
    (target / "tests" / "heldout" / "en.yml").write_text(_nlu(heldout))
    (target / "models").mkdir(exist_ok=True)
    return target


def damage(project: Path) -> None:
    """A labelling mistake the gate must catch: opening-hours questions labelled as symptoms,
    so the candidate escalates routine questions (over-escalation, routine accuracy)."""
    path = project / "data" / "nlu" / "en" / "tiny.yml"
    path.write_text(path.read_text().replace("- intent: ask_opening_hours", "- intent: disclose_symptoms"))


def label(project: Path, intent: str, text: str) -> None:
    """One more training example, as an admin's label adds it (a new fingerprint: a real training)."""
    path = project / "data" / "nlu" / "en" / "tiny.yml"
    marker = f"- intent: {intent}\n  examples: |\n"
    path.write_text(path.read_text().replace(marker, marker + f"    - {text}\n", 1))


def train_first_model(project: Path, env: Dict[str, str]) -> str:
    """The tiny project's first serving model, through `triage train` (restored from the model cache
    in TRIAGE_MODEL_CACHE when an earlier test trained the same data)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "triage.cli", "train", "--project", str(project), "--admin", "setup"],
                            env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return (project / "models" / ".current").read_text().strip()


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Dict[str, object]:
    """A tiny project with its first model serving, trained once per test session; tests copy it."""
    base = tmp_path_factory.mktemp("tiny") / "project"
    env = {**os.environ, "TRIAGE_MODEL_CACHE": str(tmp_path_factory.getbasetemp() / "tiny-model-cache"),
           "TRIAGE_DB_URL": f"sqlite:///{base.parent / 'setup.db'}"}
    build(base)
    first = train_first_model(base, env)
    return {"dir": base, "first": first, "cache": env["TRIAGE_MODEL_CACHE"]}


def copy(tiny_base: Dict[str, object], target: Path) -> Path:
    shutil.copytree(tiny_base["dir"], target)
    return target


def wait_for_job(deployment, job_id: int, timeout: float = 900) -> Dict[str, object]:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = deployment.job(job_id)
        if job["state"] != "running":
            return job
        time.sleep(1)
    raise AssertionError("the training job did not finish:\n" + "\n".join(deployment.progress(job_id)))
