"""REST channel at /webhooks/rest/webhook, hardened for patient messages.

Same request and response as Rasa's built-in ``rest`` channel
({"sender": ..., "message": ..., "metadata": {...}} -> [{"recipient_id", "text"}]),
with three differences that matter for health data:
- bad requests get a 4xx with a reason, never a crash or a silent 200;
- ``metadata`` (language hint, attachments) reaches the triage decision;
- a failure is logged without the message text (the stock channel logs it).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from triage.channels.base import deliver
from triage.text import clean

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_SENDER_CHARS = 256


class BadRequest(ValueError):
    pass


def parse_body(body: bytes) -> Dict[str, Any]:
    """The validated request fields, or BadRequest saying what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8") from None
    except json.JSONDecodeError:
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("body must be a JSON object")
    sender = payload.get("sender")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise BadRequest('"sender" must be a non-empty string')
    message = payload.get("message", "")
    if message is None:
        message = ""
    if not isinstance(message, str):
        raise BadRequest('"message" must be a string')
    metadata = payload.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadRequest('"metadata" must be a JSON object')
    # Cleaned here as well as in deliver (clean is idempotent): the REST edge hands on no
    # text that cannot be encoded, whoever reads the fields next.
    return {"sender": sender, "message": clean(message), "metadata": metadata}


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("triage_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                fields = parse_body(request.body or b"")
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            collector = CollectingOutputChannel()
            try:
                await deliver(on_new_message, UserMessage(
                    fields["message"], collector, fields["sender"],
                    input_channel=self.name(), metadata=fields["metadata"],
                ))
            except Exception as exc:  # noqa: BLE001 - one message must not take the server down
                # The exception text may quote the message; log its type only.
                logger.error("rest: processing a message failed (%s)", type(exc).__name__)
                return response.json({"error": "the message could not be processed"}, status=500)
            return response.json(collector.messages)

        return webhook
