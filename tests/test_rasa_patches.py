"""triage/rasa/patches.py: the faster action-response validation gives Rasa's own verdicts."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from triage import rasa as triage_rasa
from triage.rasa import patches as rasa_patches

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "timestamp": None, "name": "language", "value": "en"},
                {"event": "pause", "timestamp": None}],
     "responses": [{"text": "Opening hours: Mon-Fri 8-18", "buttons": [], "custom": {}, "image": None}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},  # a slot event without a name
    {"responses": [3]},
    {"events": [{"event": "no_such_event"}]},
]


@pytest.mark.parametrize("result", VALID)
def test_valid_responses_pass_as_before(result):
    action = RemoteAction("action_answer", None)
    assert rasa_patches._original(action, result) is True
    assert rasa_patches._validate_action_result(action, result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_fail_as_before(result):
    action = RemoteAction("action_answer", None)
    with pytest.raises(ValidationError) as stock:
        rasa_patches._original(action, result)
    with pytest.raises(ValidationError) as ours:
        rasa_patches._validate_action_result(action, result)
    assert ours.value.message == stock.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_the_component_installs_it():
    import triage.rasa.component  # noqa: F401  (the Rasa server imports it when loading the model)

    assert RemoteAction._validate_action_result is rasa_patches._validate_action_result


def test_event_classes_are_found_as_before():
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event, SlotSet, UserUttered

    triage_rasa.install()
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "session_started", "pause", "resume"} <= names
    for _ in range(2):  # the second round comes from memory
        for name in names:
            assert Event.resolve_by_type(name) is rasa_patches._original_resolve(name), name
    assert Event.resolve_by_type("user") is UserUttered
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None  # Rasa's backwards compatibility
    assert Event.from_parameters({"event": "slot", "name": "language", "value": "de"}) == SlotSet("language", "de")


def test_not_applied_on_a_rasa_version_they_were_not_tested_on(monkeypatch, caplog):
    import rasa

    monkeypatch.setattr(triage_rasa, "_installed", False)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    applied = []
    monkeypatch.setattr(rasa_patches, "apply", lambda: applied.append(True))
    with caplog.at_level("WARNING", logger="triage.rasa"):
        assert triage_rasa.install() is False
    assert applied == []
    assert "Rasa 3.7.0" in caplog.text and "3.6.21" in caplog.text


def test_installed_once(monkeypatch):
    monkeypatch.setattr(triage_rasa, "_installed", False)
    applied = []
    monkeypatch.setattr(rasa_patches, "apply", lambda: applied.append(True))
    assert triage_rasa.install() and triage_rasa.install()
    assert applied == [True]
