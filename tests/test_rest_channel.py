import json

import pytest

from tests.servers import ROOT
from triage.channels.rest import MAX_BODY_BYTES, BadRequest, parse_body


def body(obj):
    return json.dumps(obj).encode()


def test_valid_body():
    assert parse_body(body({"sender": "a", "message": "hi", "metadata": {"language": "de"}})) == {
        "sender": "a", "message": "hi", "metadata": {"language": "de"}}


def test_missing_or_null_message_is_an_empty_message():
    assert parse_body(body({"sender": "a"}))["message"] == ""
    assert parse_body(body({"sender": "a", "message": None}))["message"] == ""


@pytest.mark.parametrize("raw,reason", [
    (b"{", "not valid JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1]", "JSON object"),
    (body({"message": "hi"}), "sender"),
    (body({"sender": "", "message": "hi"}), "sender"),
    (body({"sender": "a" * 300, "message": "hi"}), "sender"),
    (body({"sender": 5, "message": "hi"}), "sender"),
    (body({"sender": "a", "message": ["hi"]}), "message"),
    (body({"sender": "a", "message": "hi", "metadata": [1]}), "metadata"),
    (b" " * (MAX_BODY_BYTES + 1), "larger"),
])
def test_bad_bodies(raw, reason):
    with pytest.raises(BadRequest, match=reason):
        parse_body(raw)


@pytest.mark.parametrize("text", ["/ask_opening_hours", '  /greet{"language": "de"}', "/disclose_symptoms@0.9"])
def test_patients_cannot_send_rasa_intent_shortcuts(text):
    """Rasa's own parser turns these into an intent (skipping the model and the triage);
    after the channel layer it sees words."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from triage.shortcuts import without_shortcut

    domain = Domain.load(str(ROOT / "domain.yml"))
    assert YAMLStoryReader.unpack_regex_message(Message({TEXT: text}), domain).get(INTENT)
    guarded = without_shortcut(text)
    assert YAMLStoryReader.unpack_regex_message(Message({TEXT: guarded}), domain).get(INTENT) is None
    assert guarded.strip().endswith(text.strip()) and len(guarded.strip()) == len(text.strip()) + 1


@pytest.mark.parametrize("text", ["what are your hours / times", "", None, "a/b"])
def test_other_texts_pass_unchanged(text):
    from triage.shortcuts import without_shortcut

    assert without_shortcut(text) == text
