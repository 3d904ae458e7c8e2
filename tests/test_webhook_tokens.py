"""Handshake tokens (X crc_token, Meta hub.challenge): only the platforms' form is signed or
echoed, so the CRC answer can never be the signature of a JSON body (issue 15)."""
import json

import pytest

from triage.channels.webhook import webhook_token
from triage.channels.x_dm import XInput, crc_response


@pytest.mark.parametrize("token", ["abc123", "aB3+/_-=", "1" * 256, "1158832574957158400"])
def test_platform_tokens_are_accepted(token):
    assert webhook_token(token) == token


@pytest.mark.parametrize("token", [None, "", "1" * 257, '{"for_user_id": "1"}', "{}", "a b", "a\nb", "ä", "a;b"])
def test_anything_else_is_refused(token):
    assert webhook_token(token) is None


def is_json_object(text):
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def test_no_accepted_token_is_a_json_object_so_the_crc_answer_signs_no_webhook_body():
    x = XInput("ck", "secret", "at", "ats", "42")
    for token in ("abc", "e30=", "1234"):
        assert webhook_token(token)
        assert not is_json_object(token)
        signature = crc_response("secret", token)["response_token"]
        assert x.verify_signature(token.encode(), signature)  # why the form matters: the answer IS a signature
