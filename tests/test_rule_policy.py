"""triage/rasa/rule_policy.py predicts exactly what Rasa's RulePolicy predicts, reading less."""
import random
from pathlib import Path

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActionReverted, BotUttered, ConversationPaused,
                                     DefinePrevUserUtteredFeaturization, Restarted, SessionStarted, SlotSet,
                                     UserUttered, UserUtteranceReverted)
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

from triage.rasa.rule_policy import RecentTurnsRulePolicy

ROOT = Path(__file__).resolve().parent.parent
CONFIG = {"core_fallback_threshold": 0.3, "core_fallback_action_name": "utter_answer",
          "enable_fallback_prediction": True}


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


def _trained(cls, domain, tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp(cls.__name__))
    policy = cls.create({**cls.get_default_config(), **CONFIG}, storage, Resource(cls.__name__),
                        ExecutionContext(GraphSchema({}), "test"))
    steps = YAMLStoryReader(domain).read_from_file(str(ROOT / "data" / "rules.yml"))
    trackers = TrainingDataGenerator(StoryGraph(steps), domain, augmentation_factor=0).generate()
    policy.train(trackers, domain)
    return policy


@pytest.fixture(scope="module")
def policies(domain, tmp_path_factory):
    return _trained(RulePolicy, domain, tmp_path_factory), _trained(RecentTurnsRulePolicy, domain, tmp_path_factory)


def _turn(rng, domain, events):
    """One patient message and the bot's answer, as the live bot stores them."""
    intent = rng.choice(domain.intents)
    events += [UserUttered(f"message {len(events)}", {"name": intent, "confidence": rng.random()}),
               DefinePrevUserUtteredFeaturization(False)]
    yield events  # predicting the reply
    action = rng.choice(["utter_answer", "utter_answer", "action_escalate", "utter_escalate"])
    events += [ActionExecuted(action, policy="RulePolicy", confidence=1.0), BotUttered("reply")]
    if action == "action_escalate":
        events += [SlotSet("language", rng.choice(["en", "de", "es"]))]
        if rng.random() < 0.3:
            events += [ConversationPaused()]
    yield events  # predicting what follows the reply
    events += [ActionExecuted("action_listen")]


def _conversation(seed, domain, extra=()):
    rng = random.Random(seed)
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for turn in range(rng.randint(1, 60)):
        for snapshot in _turn(rng, domain, events):
            yield list(snapshot)
        if rng.random() < 0.05:  # a new session in the same stored conversation
            events += [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
        if rng.random() < 0.03:
            events += [Restarted(), ActionExecuted("action_listen")]
        if turn == 20 and extra:
            events += list(extra)


def _same_prediction(stock, ours, tracker, domain):
    expected = stock.predict_action_probabilities(tracker, domain)
    actual = ours.predict_action_probabilities(tracker, domain)
    assert actual.probabilities == expected.probabilities
    assert actual.events == expected.events
    assert actual.is_end_to_end_prediction == expected.is_end_to_end_prediction
    assert actual.is_no_user_prediction == expected.is_no_user_prediction
    assert actual.hide_rule_turn == expected.hide_rule_turn
    assert actual.action_metadata == expected.action_metadata
    # What the prediction rests on: the states a rule can reach are the same.
    reach = ours.longest_rule()
    for use_text in (True, False):
        assert (ours._prediction_states(tracker, domain, use_text)[-reach:]
                == stock._prediction_states(tracker, domain, use_text)[-reach:])


def test_every_prediction_matches_rule_policy(policies, domain):
    stock, ours = policies
    shortened = compared = 0
    for seed in range(40):
        for events in _conversation(seed, domain):
            tracker = DialogueStateTracker.from_events("patient", events, domain.slots)
            _same_prediction(stock, ours, tracker, domain)
            compared += 1
            shortened += len(ours.recent(tracker, domain).events) < len(tracker.events)
    assert compared > 1000
    assert shortened > compared / 2  # most of these conversations are long enough to be cut


def test_a_long_conversation_is_read_from_its_recent_events_only(policies, domain):
    _, ours = policies
    events = list(_conversation(7, domain))[-1]
    tracker = DialogueStateTracker.from_events("patient", events, domain.slots)
    assert len(tracker.events) > 100
    assert len(ours.recent(tracker, domain).events) <= 12 * (ours.longest_rule() + 2)


@pytest.mark.parametrize("undo", [UserUtteranceReverted(), ActionReverted()])
def test_undo_events_make_it_read_everything(policies, domain, undo):
    stock, ours = policies
    for events in _conversation(3, domain, extra=[undo]):
        tracker = DialogueStateTracker.from_events("patient", events, domain.slots)
        _same_prediction(stock, ours, tracker, domain)
        if any(isinstance(event, type(undo)) for event in events):
            assert ours.recent(tracker, domain) is tracker


def test_a_domain_whose_slots_or_forms_shape_the_dialogue_is_read_whole(policies, domain):
    _, ours = policies
    tracker = DialogueStateTracker.from_events("patient", list(_conversation(7, domain))[-1], domain.slots)
    featurized = Domain.from_dict({**domain.as_dict(), "slots": {
        "language": {"type": "text", "influence_conversation": True, "mappings": [{"type": "custom"}]}}})
    with_form = Domain.from_dict({**domain.as_dict(), "forms": {"booking_form": {"required_slots": []}}})
    for other in (featurized, with_form):
        assert ours.recent(tracker, other) is tracker
