"""TriageDecider: the Rasa NLU component that makes the triage decision.

It sits after DIETClassifier and FallbackClassifier, so the live bot, `rasa
shell`, `rasa test` and the batch CLI all see one decision. It adds
``parse_data["triage"]`` and sets ``parse_data["intent"]`` to the effective
intent (a sensitive or crisis intent when the decision escalates), so rules in
data/rules.yml route on the decision without a second copy of the logic.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from triage import language, rasa as triage_rasa
from triage.decision import DecisionSettings, decide
from triage.rasa.sensitivity import SENSITIVITY_KEY

TRIAGE_KEY = "triage"

# The one place our Rasa patches are installed: every process that loads a model (the
# server, `rasa shell`, `rasa test`, `triage classify`) imports this module first.
triage_rasa.install()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TriageDecider(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return asdict(DecisionSettings())

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.settings = DecisionSettings.from_config(config)
        # The language models load with the model, not on the first patient's message.
        language.warm_up()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TriageDecider":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._process(message)
        return messages

    def _process(self, message: Message) -> None:
        ranking = [
            (entry.get(INTENT_NAME_KEY), entry.get(PREDICTED_CONFIDENCE_KEY, 0.0))
            for entry in message.get(INTENT_RANKING_KEY) or []
        ]
        if not ranking and message.get(INTENT):
            intent = message.get(INTENT)
            ranking = [(intent.get(INTENT_NAME_KEY), intent.get(PREDICTED_CONFIDENCE_KEY, 0.0))]
        decision = decide(message.get(TEXT), ranking, message.get("metadata"), self.settings,
                          message.get(SENSITIVITY_KEY))
        message.set(TRIAGE_KEY, decision.as_dict(), add_to_output=True)
        message.set(
            INTENT,
            {INTENT_NAME_KEY: decision.intent, PREDICTED_CONFIDENCE_KEY: decision.confidence},
            add_to_output=True,
        )
