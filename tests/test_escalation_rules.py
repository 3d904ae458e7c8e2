"""data/rules.yml with config.yml's policy: an escalation is answered in the Rasa server
(utter_escalate) before the action server is asked for the pause (action_escalate), and
the core fallback is utter_answer, so no reply depends on the action server (issue 15).
Trains only the rule policy (seconds), so it checks the rules before a model is retrained."""
from pathlib import Path

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, DefinePrevUserUtteredFeaturization, UserUttered
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

from triage import intents
from triage.rasa.rule_policy import RecentTurnsRulePolicy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def policy(domain, tmp_path_factory):
    config = {k: v for k, v in yaml.safe_load(open(ROOT / "config.yml"))["policies"][0].items() if k != "name"}
    cls = RecentTurnsRulePolicy
    trained = cls.create({**cls.get_default_config(), **config}, LocalModelStorage(tmp_path_factory.mktemp("rules")),
                         Resource("rules"), ExecutionContext(GraphSchema({}), "test"))
    steps = YAMLStoryReader(domain).read_from_file(str(ROOT / "data" / "rules.yml"))
    trained.train(TrainingDataGenerator(StoryGraph(steps), domain, augmentation_factor=0).generate(), domain)
    return trained


def next_action(policy, domain, events):
    tracker = DialogueStateTracker.from_events("p", [ActionExecuted("action_listen"), *events], domain.slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    return domain.action_names_or_texts[prediction.max_confidence_index]


def user(intent, confidence=0.95):
    return [UserUttered("text", {"name": intent, "confidence": confidence}), DefinePrevUserUtteredFeaturization(False)]


@pytest.mark.parametrize("intent", intents.ESCALATING)
def test_an_escalation_is_answered_in_the_server_first_then_paused(policy, domain, intent):
    events = user(intent)
    assert next_action(policy, domain, events) == "utter_escalate"
    events.append(ActionExecuted("utter_escalate"))
    assert next_action(policy, domain, events) == "action_escalate"
    # action_escalate failed (action server down: "events lost, bot continues"): the turn ends.
    events.append(ActionExecuted("action_escalate"))
    assert next_action(policy, domain, events) == "action_listen"


def test_the_core_fallback_is_answered_in_the_server(policy, domain):
    events = user("greet") + [ActionExecuted("utter_answer"), ActionExecuted("utter_answer")]
    assert next_action(policy, domain, events) == "utter_answer"  # no rule: the fallback
    assert "action_answer" not in domain.action_names_or_texts
