"""SensitivityClassifier: a second, independent reading of every message: answer, private or crisis.

DIET reads 26 intents; a routine intent can win by a hair while the text is plainly about
someone's health. This component reads only the three decisions, with different features
(TF-IDF of character 2-5-grams and word 1-2-grams of the folded text, a linear model), so its
mistakes are not DIET's. It is trained on the same NLU data, every intent mapped to its decision.

Its thresholds are chosen at training time on out-of-fold predictions (5-fold), not by hand:
- ``answer_threshold``: below this probability of "answer" a message is not trusted as routine.
  It is the highest threshold that keeps out-of-fold over-escalation of routine examples within
  ``max_over_escalation``: the veto is as strict as the data allows without refusing routine
  questions wholesale;
- ``crisis_threshold``: at or above this probability of "crisis" the message is a crisis, chosen so
  that at most ``max_false_crisis`` of the routine examples would have been.
TriageDecider (triage.rasa.component) combines it with DIET, the red flags and the health signals.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from triage import DECISION_ANSWER, DECISION_CRISIS, intents
from triage.text import fold

logger = logging.getLogger(__name__)

SENSITIVITY_KEY = "sensitivity"
_FILE = "sensitivity.joblib"
# Longer texts are read from their start; the red flags scan all of it.
_MAX_CHARS = 4000


def _folded(text: str) -> str:
    return fold((text or "")[:_MAX_CHARS])


def _pipeline(config: Dict[Text, Any]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    return make_pipeline(
        make_union(
            TfidfVectorizer(preprocessor=_folded, analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                            sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(preprocessor=_folded, analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                            dtype=np.float32),
        ),
        LogisticRegression(C=config["C"], class_weight="balanced", max_iter=3000),
    )


def choose_thresholds(probabilities: np.ndarray, labels: np.ndarray, classes: List[str],
                      max_over_escalation: float, max_false_crisis: float) -> Dict[str, float]:
    """Thresholds from out-of-fold probabilities (see the module docstring)."""
    routine = labels == DECISION_ANSWER
    if DECISION_ANSWER not in classes or not routine.any():
        return {"answer_threshold": 0.0, "crisis_threshold": 1.1}  # nothing to tell routine by: no veto
    p_answer = probabilities[routine, classes.index(DECISION_ANSWER)]
    answer_threshold = float(np.quantile(p_answer, max_over_escalation))
    crisis_threshold = 1.1  # no crisis examples: this reading never calls one
    if DECISION_CRISIS in classes:
        p_crisis = probabilities[routine, classes.index(DECISION_CRISIS)]
        crisis_threshold = float(np.quantile(p_crisis, 1.0 - max_false_crisis))
    return {"answer_threshold": round(answer_threshold, 4), "crisis_threshold": round(max(crisis_threshold, 0.5), 4)}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SensitivityClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 3.0, "folds": 5, "max_over_escalation": 0.03, "max_false_crisis": 0.005, "random_seed": 7}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model=None, thresholds: Optional[Dict[str, float]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self.thresholds = thresholds or {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SensitivityClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts = [m.get(TEXT) for m in examples]
        labels = np.array([intents.decision_for(m.get("intent")) for m in examples])
        counts = {label: int((labels == label).sum()) for label in set(labels)}
        if len(counts) < 2 or min(counts.values()) < 2:
            # Data an admin labelled into one decision: no second reading; DIET and the rules decide.
            logger.warning("sensitivity classifier: not trained (examples per decision: %s)", counts)
            with self._model_storage.write_to(self._resource) as directory:
                joblib.dump({"model": None, "thresholds": {}}, Path(directory) / _FILE)
            return self._resource
        folds = StratifiedKFold(min(self.config["folds"], min(counts.values())), shuffle=True,
                                random_state=self.config["random_seed"])
        model = _pipeline(self.config)
        out_of_fold = cross_val_predict(model, texts, labels, cv=folds, method="predict_proba")
        classes = sorted(set(labels))
        self.thresholds = choose_thresholds(out_of_fold, labels, classes, self.config["max_over_escalation"],
                                            self.config["max_false_crisis"])
        sensitive = labels != DECISION_ANSWER
        vetoed = out_of_fold[sensitive, classes.index(DECISION_ANSWER)] < self.thresholds["answer_threshold"]
        logger.info("sensitivity classifier: %d examples, thresholds %s, out-of-fold sensitive recall of the "
                    "veto alone %.3f", len(texts), self.thresholds, float(vetoed.mean()) if vetoed.size else 0.0)
        self.model = model.fit(texts, labels)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"model": self.model, "thresholds": self.thresholds}, Path(directory) / _FILE)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SensitivityClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                stored = joblib.load(Path(directory) / _FILE)
        except (ValueError, FileNotFoundError):
            # No trained state (e.g. trained on no data): TriageDecider then has no second reading.
            logger.warning("sensitivity classifier: no trained model in this archive")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, stored["model"], stored["thresholds"])

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        probabilities = self.model.predict_proba(texts)
        classes = list(self.model.classes_)
        for message, row in zip(messages, probabilities):
            message.set(SENSITIVITY_KEY, {
                "probabilities": {name: round(float(p), 4) for name, p in zip(classes, row)},
                **self.thresholds,
            }, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
