"""Rasa's default pipeline, as `rasa init` writes it (Rasa 3.6): the yardstick that
`triage eval` and `make bench` compare the project's own pipeline with."""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Tuple

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent

STOCK_CONFIG = {
    "recipe": "default.v1", "language": "en", "assistant_id": "stock-bench",
    "pipeline": [
        {"name": "WhitespaceTokenizer"}, {"name": "RegexFeaturizer"}, {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
        {"name": "EntitySynonymMapper"},
        {"name": "ResponseSelector", "epochs": 100, "constrain_similarities": True},
        {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
    ],
    "policies": [
        {"name": "MemoizationPolicy"}, {"name": "RulePolicy"},
        {"name": "UnexpecTEDIntentPolicy", "max_history": 5, "epochs": 100},
        {"name": "TEDPolicy", "max_history": 5, "epochs": 100, "constrain_similarities": True},
    ],
}


def config(epochs: Optional[int] = None) -> dict:
    result = copy.deepcopy(STOCK_CONFIG)
    if epochs:
        for item in result["pipeline"] + result["policies"]:
            if "epochs" in item:
                item["epochs"] = epochs
    return result


def train_nlu(workdir: Path, epochs: Optional[int] = None) -> Tuple[Path, float]:
    """Trains the default NLU pipeline on our data/nlu; returns (model, seconds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yml").write_text(yaml.safe_dump(config(epochs), sort_keys=False))
    shutil.copytree(PROJECT_ROOT / "data" / "nlu", workdir / "data" / "nlu", dirs_exist_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--fixed-model-name", "baseline",
                    "--out", str(workdir / "models"), "--config", str(workdir / "config.yml"),
                    "--nlu", str(workdir / "data" / "nlu")], cwd=workdir, check=True)
    return workdir / "models" / "baseline.tar.gz", round(time.perf_counter() - start, 1)
