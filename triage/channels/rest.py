"""REST channel at /webhooks/rest/webhook, hardened for patient messages.

Same request and response as Rasa's built-in ``rest`` channel
({"sender": ..., "message": ..., "metadata": {...}} -> [{"recipient_id", "text"}]),
with differences that matter for health data:
- bad requests get a 4xx with a reason, never a crash or a silent 200;
- ``metadata`` (language hint, attachments) reaches the triage decision;
- a failure is logged without the message text (the stock channel logs it);
- authentication (TRIAGE_REST_AUTH): ``open`` (development, `make run`), ``jwt`` (the
  production profile, scripts/run-prod: every request carries ``Authorization: Bearer <JWT>``
  signed with TRIAGE_REST_JWT_SECRET, algorithm TRIAGE_REST_JWT_ALGORITHM (default HS256),
  with ``sub`` = the sender and ``exp``; else 401, or 403 for another sender) or ``off``
  (403). Unset, it is ``jwt`` when a secret is set and ``open`` otherwise. A JWT that does
  not verify is refused in every mode. Only a message whose JWT subject is its sender counts
  as that sender's own (retention.SENDER_AUTHENTICATED): an open channel takes any sender id
  on trust, so there "forget me" erases nothing.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import jwt
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from triage.channels.base import deliver
from triage.channels.webhook import setting, too_deep
from triage.retention import SENDER_AUTHENTICATED
from triage.text import clean

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_SENDER_CHARS = 256
ENV_AUTH = "TRIAGE_REST_AUTH"
ENV_JWT_SECRET = "TRIAGE_REST_JWT_SECRET"
ENV_JWT_ALGORITHM = "TRIAGE_REST_JWT_ALGORITHM"
OPEN, JWT, OFF = "open", "jwt", "off"
BEARER = "bearer "


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
    except ValueError:  # also an integer beyond Python's digit limit
        raise BadRequest("body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("body nested too deeply") from None
    if too_deep(payload):
        raise BadRequest("body nested too deeply")
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

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RestInput":
        secret = setting(credentials, "jwt_secret", ENV_JWT_SECRET)
        auth = setting(credentials, "auth", ENV_AUTH).strip().lower() or (JWT if secret else OPEN)
        return cls(auth, secret, setting(credentials, "jwt_algorithm", ENV_JWT_ALGORITHM, "HS256"))

    def __init__(self, auth: str = OPEN, jwt_secret: str = "", jwt_algorithm: str = "HS256") -> None:
        if auth not in (OPEN, JWT, OFF):
            logger.error("rest: %s=%r is not open, jwt or off; the REST channel is switched off", ENV_AUTH, auth[:20])
            auth = OFF
        if auth == JWT and not jwt_secret:
            logger.error("rest: %s=jwt without %s: every REST request is refused (401)", ENV_AUTH, ENV_JWT_SECRET)
        self.auth = auth
        self.jwt_secret = jwt_secret
        self.jwt_algorithm = jwt_algorithm
        logger.info("rest: authentication %s", auth)

    def subject(self, authorization: Optional[str]) -> Optional[str]:
        """The sender a valid bearer JWT names (its ``sub``), else None."""
        if not self.jwt_secret or not authorization or not authorization.lower().startswith(BEARER):
            return None
        try:
            claims = jwt.decode(authorization[len(BEARER):].strip(), self.jwt_secret,
                                algorithms=[self.jwt_algorithm], options={"require": ["sub", "exp"]})
        except (jwt.PyJWTError, ValueError, TypeError):  # a malformed key or token is a bad token too
            return None
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and subject else None

    def refusal(self, authorization: Optional[str], subject: Optional[str]) -> Optional[HTTPResponse]:
        """The answer to a request that may not reach a conversation, else None."""
        if self.auth == OFF:
            return response.json({"error": "the REST channel is switched off"}, status=403)
        if ((authorization and self.jwt_secret) or self.auth == JWT) and subject is None:
            return response.json({"error": "a valid bearer token is required"}, status=401,
                                 headers={"WWW-Authenticate": 'Bearer realm="triage"'})
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("triage_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            authorization = request.headers.get("authorization")
            subject = self.subject(authorization)
            refused = self.refusal(authorization, subject)
            if refused is not None:
                return refused
            try:
                fields = parse_body(request.body or b"")
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            if subject is not None and subject != fields["sender"]:
                return response.json({"error": "the token is for another sender"}, status=403)
            # Only this channel says whether the sender is authenticated, never the client.
            metadata = {k: v for k, v in fields["metadata"].items() if k != SENDER_AUTHENTICATED}
            if subject is not None:
                metadata[SENDER_AUTHENTICATED] = True
            collector = CollectingOutputChannel()
            try:
                await deliver(on_new_message, UserMessage(
                    fields["message"], collector, fields["sender"],
                    input_channel=self.name(), metadata=metadata,
                ))
            except Exception as exc:  # noqa: BLE001 - one message must not take the server down
                # The exception text may quote the message; log its type only.
                logger.error("rest: processing a message failed (%s)", type(exc).__name__)
                return response.json({"error": "the message could not be processed"}, status=500)
            return response.json(collector.messages)

        return webhook
