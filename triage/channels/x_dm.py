"""X (Twitter) direct messages connector, served at /webhooks/x/webhook.

- GET ?crc_token=...: the CRC answer, sha256= base64 HMAC with the consumer secret,
  only for a token of the form X sends (else 400: the answer would sign any POST body);
- POST: `x-twitter-webhooks-signature` checked in constant time, else 403;
  DMs go to Rasa (our own DMs are ignored, redeliveries deduplicated), mentions
  get a public "please DM us" without echoing;
- replies go out through POST /2/dm_conversations/with/{id}/messages with
  OAuth 1.0a user context, queued in the outbox (triage/outbox.py): crisis first,
  HTTP 429 waited out by the channel's sender loop, never by a request handler;
- both payload formats (Account Activity API and X Activity API `dm.received`) are
  read by x_events.py, payloads for another user than X_USER_ID are ignored, and an
  encrypted DM (XChat), which the bot cannot read, gets a reply asking the patient to
  write an ordinary DM or call the clinic.

Settings: X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET,
X_USER_ID, X_API_URL. Without its secrets the channel is not served (404).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import requests
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from requests_oauthlib import OAuth1
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from triage import clinic as clinic_config, handoff, outbox
from triage.channels import x_events
from triage.channels.base import classify_public, deliver
from triage.channels.webhook import (Rejected, _rate_limit_wait, add_health_route, best_effort, hmac_matches,
                                     in_background, not_configured, post_with_retry, process_events, queue, reject,
                                     send_async, setting, signed_json, webhook_token)
from triage.replies import Replies

logger = logging.getLogger(__name__)

CHANNEL = "x"
DEFAULT_API_URL = "https://api.x.com"
MAX_DM = 10000
TIMEOUT = (3.05, 10)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def crc_response(consumer_secret: str, crc_token: str) -> Dict[str, str]:
    digest = hmac.new(consumer_secret.encode("utf-8"), crc_token.encode("utf-8"), hashlib.sha256).digest()
    return {"response_token": "sha256=" + _b64(digest)}


class XClient:
    def __init__(self, api_url: str, auth: Optional[OAuth1], session: Optional[requests.Session] = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        self.session = session or requests.Session()

    def send_dm(self, participant_id: str, text: str) -> None:
        for start in range(0, max(len(text), 1), MAX_DM):
            post_with_retry(self.session, f"{self.api_url}/2/dm_conversations/with/{participant_id}/messages",
                            name="x send", auth=self.auth, json={"text": text[start:start + MAX_DM]},
                            timeout=TIMEOUT, attempts=6)

    def send_dm_once(self, participant_id: str, text: str) -> None:
        """One try per part, for the outbox's sender loop: raises outbox.Retry (rate limit,
        5xx, network) or outbox.Refused (any other refusal) instead of sleeping."""
        for start in range(0, max(len(text), 1), MAX_DM):
            try:
                result = self.session.post(f"{self.api_url}/2/dm_conversations/with/{participant_id}/messages",
                                           auth=self.auth, json={"text": text[start:start + MAX_DM]},
                                           timeout=TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - requests and OS errors alike
                raise outbox.Retry(type(exc).__name__, 5.0) from None
            if result.status_code == 429:
                raise outbox.Retry("rate limited (HTTP 429)", _rate_limit_wait(result.headers), channel_wide=True)
            if result.status_code >= 500:
                raise outbox.Retry(f"HTTP {result.status_code}", 10.0)
            if result.status_code >= 300:
                raise outbox.Refused(f"HTTP {result.status_code}: {_x_error(result)}")

    def reply_publicly(self, tweet_id: str, text: str) -> None:
        post_with_retry(self.session, f"{self.api_url}/2/tweets", name="x reply", auth=self.auth,
                        json={"text": text[:280], "reply": {"in_reply_to_tweet_id": tweet_id}}, timeout=TIMEOUT)


def _x_error(result) -> str:
    """X's reason for a refusal (v2 problem "title"/"detail", or v1.1 "errors"), for staff."""
    try:
        body = result.json()
    except ValueError:
        return "no reason given"
    if not isinstance(body, dict):
        return "no reason given"
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    reason = body.get("detail") or body.get("title") or first.get("message") or first.get("detail")
    return str(reason)[:120] if reason else "no reason given"


class XOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, client: XClient) -> None:
        self.client = client

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Queued, never sent here: the request handler must not wait out a rate limit.
        The NLG names the turn's decision (``triage_decision``), which sets the priority."""
        if not await queue(CHANNEL, recipient_id, text, kwargs.get("triage_decision"),
                           language=kwargs.get("triage_language")):
            await send_async(self.client.send_dm, recipient_id, text)


class XInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "XInput":
        def get(key: str, env: str, default: str = "") -> str:
            return setting(credentials, key, env, default)

        return cls(get("consumer_key", "X_CONSUMER_KEY"), get("consumer_secret", "X_CONSUMER_SECRET"),
                   get("access_token", "X_ACCESS_TOKEN"), get("access_token_secret", "X_ACCESS_TOKEN_SECRET"),
                   get("user_id", "X_USER_ID"), get("api_url", "X_API_URL", DEFAULT_API_URL))

    def __init__(self, consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str,
                 user_id: str, api_url: str = DEFAULT_API_URL) -> None:
        self.consumer_secret = consumer_secret
        self.user_id = user_id
        self.configured = all((consumer_key, consumer_secret, access_token, access_token_secret, user_id))
        auth = OAuth1(consumer_key, consumer_secret, access_token, access_token_secret) if self.configured else None
        self.client = XClient(api_url, auth)
        if not self.configured:
            logger.warning("x: X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET and "
                           "X_USER_ID are not all set; /webhooks/x/webhook answers 404")

    def verify_signature(self, body: bytes, header: Optional[str]) -> bool:
        return hmac_matches(self.consumer_secret, body, header, _b64)

    def get_output_channel(self) -> OutputChannel:
        return XOutput(self.client)

    def _start_sender(self) -> None:
        try:
            outbox.start_sender(CHANNEL, self.client.send_dm_once)
        except Exception as exc:  # noqa: BLE001 - replies then go directly (XOutput)
            logger.error("x: outbox sender not started (%s)", type(exc).__name__)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("triage_x_webhook", __name__)

        add_health_route(hook, self)
        if self.configured:
            self._start_sender()

        @hook.route("/webhook", methods=["GET"])
        async def crc(request: Request) -> HTTPResponse:
            if not self.configured:
                return not_configured()
            token = webhook_token(request.args.get("crc_token"))
            if not token:  # never sign an arbitrary string: see webhook.webhook_token
                return response.json({"error": "crc_token missing or not a CRC token"}, status=400)
            return response.json(crc_response(self.consumer_secret, token))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.configured:
                return not_configured()
            try:
                payload = signed_json(request, self.verify_signature, "x-twitter-webhooks-signature")
                events = x_events.parse(payload, self.user_id)
            except Rejected as exc:
                return reject(exc)
            except x_events.PayloadError as exc:
                return response.json({"error": str(exc)}, status=400)
            wanted = [e for e in events if e.kind != "ignored"]
            if wanted:
                in_background(request.app, "x", lambda: self._process(request.app, wanted, on_new_message))
            return response.json({"status": "received"})

        return hook

    async def _process(self, app, events: List[x_events.XEvent], on_new_message) -> None:
        async def handle(event: x_events.XEvent) -> None:
            if event.kind == "mention":
                await self._mention(app, event)
                return
            if event.kind == "encrypted":
                await self._encrypted(event)
                return
            metadata = {"channel": CHANNEL}
            if event.attachments:
                metadata["attachments"] = event.attachments
            await deliver(on_new_message, UserMessage(event.text, self.get_output_channel(), event.sender_id,
                                                      input_channel=CHANNEL, message_id=event.event_id,
                                                      metadata=metadata))

        await process_events(CHANNEL, events, handle)

    async def _encrypted(self, event: x_events.XEvent) -> None:
        """An encrypted chat (XChat) the bot cannot read, so cannot triage: the patient is
        asked to write an ordinary DM or call, with the emergency number, as a private reply
        (never behind routine ones). Should it not reach them, the outbox opens a case."""
        logger.info("x: an encrypted chat message (unreadable); asked the sender to use a DM")
        text = Replies(clinic_config.current(), "").phrase("encrypted_dm_unsupported")
        await self.get_output_channel().send_text_message(event.sender_id, text, triage_decision="private")

    async def _mention(self, app, event: x_events.XEvent) -> None:
        """A public mention: health -> "please DM us"; routine -> a pointer to DMs too,
        since a tweet is too short for our answers and is public."""
        decision = await classify_public(app.ctx.agent, event.text)
        if decision.escalates:
            # The case first (spooled if the database is down): X may refuse the public reply.
            await send_async(handoff.escalate, event.sender_id, "x_mention", decision, event.text)
        key = "public_dm_us_crisis" if decision.is_crisis else "public_dm_us"
        text = Replies(clinic_config.current(), decision.language).phrase(key)
        await best_effort("x: public mention reply", self.client.reply_publicly, event.event_id, text)
