import json

import pytest

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
