"""Facebook Messenger and Instagram Direct connector, served at /webhooks/facebook/webhook.

Hardened against the gaps of rasa/core/channels/facebook.py: it verifies
X-Hub-Signature-256 in constant time and answers 403 to anything else, handles
every event of a batch, ignores echo/delivery/read events, never turns an
attachment into text, deduplicates redeliveries by mid, answers 200 at once and
processes afterwards, and sends through `requests` with timeouts.

Bot replies are not sent here: they are queued in the outbox (triage/outbox.py), crisis
first, and a sender loop per channel (``facebook``, ``instagram``) sends them one try at a
time. Meta's rate limits (Graph error codes 4, 17, 32, 613, 80001-80014 and 368, as HTTP
400/403) pause that channel for Meta's own estimate (``estimated_time_to_regain_access``
in the usage headers) instead of sleeping anywhere; a refusal (person unavailable,
outside the window) fails the row and opens or updates the staff case. The thread moves
in the same queue: taken back in the same step as a reply to a standby message, and
passed to the staff inbox only after the replies queued before it, since Meta refuses a
reply from an app that no longer owns the thread.

Meta posts both platforms here: `"object": "page"` is Messenger (channel
``facebook``), `"object": "instagram"` is Instagram Direct (channel ``instagram``,
same event shape, its own dedupe, answered through the same Graph API).

Handover protocol: when a case opens, the thread is passed to the staff inbox app;
Meta then sends the patient's messages as ``standby`` events. They still go through
the handoff layer (attached to the case, sealed; red flags read), and any reply to
one (a crisis) takes the thread back first. A standby message no case of ours holds
belongs to whoever owns the thread: only a crisis is answered (and escalated).
Resuming a case takes the thread back (outbound.return_thread); the inbox passing
it back to us resumes the case. Handover events are logged without text.

Settings (environment, see docs/configuration.md): FACEBOOK_VERIFY_TOKEN,
FACEBOOK_APP_SECRET, FACEBOOK_PAGE_ACCESS_TOKEN, FACEBOOK_GRAPH_URL (default
DEFAULT_GRAPH_URL), FACEBOOK_INBOX_APP_ID, FACEBOOK_PASS_THREAD_CONTROL (true/false;
default: pass when FACEBOOK_INBOX_APP_ID is set), INSTAGRAM_ACCESS_TOKEN (default:
the Page token). Without its secrets the channel is not served (404).
"""
from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

import requests
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from triage import DECISION_ANSWER, clinic as clinic_config, handoff, outbox, services
from triage.cases import HANDED_BACK
from triage.channels.base import classify_public, deliver
from triage.channels.webhook import (Rejected, _rate_limit_wait, add_health_route, as_dict, as_id, as_list, best_effort,
                                     hmac_matches, in_background, not_configured, post_with_retry, process_events, queue,
                                     reject, send_async, setting, signed_json, webhook_token)
from triage.replies import Replies, reply_for
from triage.text import clean

logger = logging.getLogger(__name__)

CHANNEL = "facebook"
INSTAGRAM = "instagram"
COMMENT_CHANNEL = "facebook_comment"
CHANNEL_OF_OBJECT = {"page": CHANNEL, "instagram": INSTAGRAM}
# The one place of the default; Meta retires a Graph API version about two years after its release.
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v23.0"
HANDOVERS = ("pass_thread_control", "take_thread_control", "request_thread_control")
MAX_TEXT = 2000  # Messenger's limit per message
TIMEOUT = (3.05, 10)

# Meta's throttling (developers.facebook.com/docs/graph-api/overview/rate-limiting and
# .../guides/error-handling): 4 app, 17 user, 32 page and 613 call-rate limits; 80001-80014 the
# business use case limits (Pages, Instagram, Messenger ...) that Page and system-user tokens get;
# 368 "temporarily blocked". All come as HTTP 400/403, never as 429.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
BLOCKED_CODE = 368
TRANSIENT_CODES = frozenset({1, 2})  # "unknown error", "service temporarily unavailable": retry
# JSON usage headers; the business use case one names the wait in minutes (estimated_time_to_regain_access)
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage")
RATE_LIMIT_WAIT = 60.0  # when Meta names no time
BLOCKED_WAIT = 900.0
MAX_RATE_LIMIT_WAIT = 3600.0

# Outbox row kinds besides outbox.BOT_REPLY (the column holds 32 characters)
TAKE_THREAD_THEN_REPLY = "reply_taking_thread"  # a reply to a standby message: the thread first
PASS_THREAD = "pass_thread"  # to the staff inbox, after the replies queued before it
PUBLIC_REPLY = "public_reply"  # under a comment (recipient: the comment id)
COMMENT_PRIVATE_REPLY = "comment_private_reply"  # Messenger's private reply to a comment (the comment id)


@dataclass
class MessengerEvent:
    kind: str  # message | postback | comment | handover | ignored
    sender_id: str = ""
    page_id: str = ""
    text: str = ""
    event_id: Optional[str] = None
    attachments: List[Dict[str, str]] = field(default_factory=list)
    comment_id: str = ""
    channel: str = CHANNEL
    standby: bool = False  # delivered while another app (the staff inbox) owns the thread
    handover: Dict[str, str] = field(default_factory=dict)  # kind, new_owner, previous_owner (app ids)


def parse(payload: Dict[str, Any]) -> List[MessengerEvent]:
    """Every event in every entry; events that are not for the bot come back as
    ``ignored``; a malformed event is skipped without spoiling the others."""
    kind = payload.get("object")
    channel = CHANNEL_OF_OBJECT.get(kind) if isinstance(kind, str) else None
    if channel is None:
        raise Rejected(400, "unsupported object type")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise Rejected(400, "missing entry list")
    events: List[MessengerEvent] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        page_id = as_id(entry.get("id"))
        # standby: the same events, sent while another app (the staff inbox) owns the thread
        for source in ("messaging", "standby"):
            for raw in as_list(entry.get(source)):
                try:
                    event = _messaging(raw, page_id)
                except (KeyError, TypeError, AttributeError):
                    logger.warning("messenger: skipped a malformed %s %s event", channel, source)
                    continue
                event.channel, event.standby = channel, source == "standby"
                events.append(event)
        if channel != CHANNEL:
            continue  # Instagram comments are not subscribed
        for change in as_list(entry.get("changes")):
            try:
                events.append(_change(change, page_id))
            except (KeyError, TypeError, AttributeError):
                logger.warning("messenger: skipped a malformed feed change")
    for event in events:  # at the edge: comments and standby messages are escalated with this text too
        event.text = clean(event.text)
    return events


def _messaging(raw: Dict[str, Any], page_id: str) -> MessengerEvent:
    sender = as_id(as_dict(as_dict(raw)["sender"]).get("id"))
    if not sender:
        raise KeyError("sender.id")
    message = raw.get("message")
    if isinstance(message, dict):
        if message.get("is_echo") or message.get("is_deleted"):
            return MessengerEvent("ignored")
        quick = as_dict(message.get("quick_reply")).get("payload")
        text = quick if isinstance(quick, str) and quick else message.get("text") or ""
        attachments = [{"type": as_id(a.get("type")) or "file"} for a in as_list(message.get("attachments"))
                       if isinstance(a, dict)]
        if not isinstance(text, str):
            raise TypeError("text is not a string")
        return MessengerEvent("message", sender, page_id, text, as_id(message.get("mid")) or None, attachments)
    postback = raw.get("postback")
    if isinstance(postback, dict):
        text = next((t for t in (postback.get("payload"), postback.get("title")) if isinstance(t, str) and t), "")
        event_id = as_id(postback.get("mid")) or f"postback:{sender}:{as_id(raw.get('timestamp'))}"
        return MessengerEvent("postback", sender, page_id, text, event_id)
    for kind in HANDOVERS:
        handover = raw.get(kind)
        if isinstance(handover, dict):
            previous = as_id(handover.get("previous_owner_app_id")) or as_id(handover.get("requested_owner_app_id"))
            return MessengerEvent("handover", sender, page_id, handover={
                "kind": kind, "new_owner": as_id(handover.get("new_owner_app_id")), "previous_owner": previous})
    # delivery, read, reaction, optin, referral, app_roles ...
    return MessengerEvent("ignored")


def _change(change: Dict[str, Any], page_id: str) -> MessengerEvent:
    value = as_dict(as_dict(change).get("value"))
    if change.get("field") != "feed" or value.get("item") != "comment" or value.get("verb") != "add":
        return MessengerEvent("ignored")
    author = as_id(as_dict(value.get("from")).get("id"))
    if not author or author == page_id:  # the page's own comments
        return MessengerEvent("ignored")
    comment_id = as_id(value.get("comment_id"))
    if not comment_id:
        raise KeyError("comment_id")
    text = value.get("message")
    return MessengerEvent("comment", author, page_id, text if isinstance(text, str) else "", f"comment:{comment_id}",
                          comment_id=comment_id)


class GraphError(RuntimeError):
    """A refusal by the Graph API, with Meta's error code and subcode (never message text).
    The one reader of Graph errors: staff replies (outbound.staff_message) and the outbox
    (``for_outbox``) both start from it."""

    def __init__(self, status: int, code: Optional[int], subcode: Optional[int], message: str = "",
                 retry_after: Optional[float] = None) -> None:
        super().__init__(f"Graph API HTTP {status} (code {code}, subcode {subcode})")
        self.status, self.code, self.subcode, self.message = status, code, subcode, message
        self.retry_after = retry_after  # seconds, when Meta throttles us

    @property
    def rate_limited(self) -> bool:
        return self.code in RATE_LIMIT_CODES or self.code == BLOCKED_CODE

    @classmethod
    def of(cls, result) -> "GraphError":
        try:
            error = as_dict(as_dict(result.json()).get("error"))
        except ValueError:
            error = {}
        code, subcode = error.get("code"), error.get("error_subcode")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        subcode = subcode if isinstance(subcode, int) and not isinstance(subcode, bool) else None
        wait = None
        if code in RATE_LIMIT_CODES or code == BLOCKED_CODE:
            wait = _throttled_for(result.headers, BLOCKED_WAIT if code == BLOCKED_CODE else RATE_LIMIT_WAIT)
        return cls(result.status_code, code, subcode, str(error.get("message") or "")[:200], wait)


def _throttled_for(headers, default: float) -> float:
    """Seconds until Meta lets us send again: the longest ``estimated_time_to_regain_access``
    (minutes) in its usage headers, else ``retry-after``, else ``default``; at most an hour."""
    minutes = []
    for name in USAGE_HEADERS:
        try:
            usage = json.loads(headers.get(name) or "null")
        except ValueError:
            continue
        # business use case: {"<id>": [{"type": "pages", ..., "estimated_time_to_regain_access": 19}]};
        # app and page usage: one flat object
        flat = isinstance(usage, dict) and ("call_count" in usage or "estimated_time_to_regain_access" in usage)
        entries = [usage] if flat else [
            entry for value in as_dict(usage).values() for entry in (value if isinstance(value, list) else [value])]
        for entry in entries:
            value = as_dict(entry).get("estimated_time_to_regain_access")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                minutes.append(float(value))
    if minutes:
        return min(MAX_RATE_LIMIT_WAIT, max(minutes) * 60)
    if headers.get("retry-after"):
        return _rate_limit_wait(headers)
    return default


def for_outbox(exc: GraphError) -> Exception:
    """The outbox's reading of a Graph refusal: throttling pauses the whole channel for
    Meta's estimate, a passing failure retries this row, anything else is final."""
    if exc.rate_limited:
        return outbox.Retry(f"rate limited by Meta (code {exc.code})", exc.retry_after or RATE_LIMIT_WAIT,
                            channel_wide=True)
    if exc.status >= 500 or exc.code in TRANSIENT_CODES:
        return outbox.Retry(str(exc), 10.0)
    return outbox.Refused(str(exc))


def one_try(call: Callable[[str, str], Any]) -> outbox.Send:
    """``call`` (a one-try GraphClient method) as the outbox's sender wants it: raising
    outbox.Retry or outbox.Refused, never sleeping."""
    def send(recipient: str, text: str) -> None:
        try:
            call(recipient, text)
        except GraphError as exc:
            raise for_outbox(exc) from None
        except requests.RequestException as exc:  # connection refused, timeout
            raise outbox.Retry(type(exc).__name__, 5.0) from None

    return send


class GraphClient:
    """Meta's Graph API: send, handover, comments. Blocking; call via send_async.
    ``once()`` is the same client making one try per call and raising GraphError."""

    def __init__(self, page_access_token: str, graph_url: str, session: Optional[requests.Session] = None,
                 single_try: bool = False) -> None:
        self.token = page_access_token
        self.graph_url = graph_url.rstrip("/")
        self.session = session or requests.Session()
        self.single_try = single_try

    def once(self) -> "GraphClient":
        return GraphClient(self.token, self.graph_url, self.session, single_try=True)

    def _post(self, path: str, body: Dict[str, Any], name: str) -> Any:
        if self.single_try:
            result = self.session.post(f"{self.graph_url}/{path}", params={"access_token": self.token}, json=body,
                                       timeout=TIMEOUT)
            if result.status_code >= 300:
                raise GraphError.of(result)
            return result
        return post_with_retry(self.session, f"{self.graph_url}/{path}", name=f"messenger {name}",
                               params={"access_token": self.token}, json=body, timeout=TIMEOUT)

    def send(self, recipient: Dict[str, str], message: Dict[str, Any], messaging_type: str = "RESPONSE",
             tag: Optional[str] = None) -> None:
        body = {"recipient": recipient, "messaging_type": messaging_type, "message": message}
        if tag:
            body["tag"] = tag
        self._post("me/messages", body, "send")

    def send_text(self, psid: str, text: str, messaging_type: str = "RESPONSE", tag: Optional[str] = None) -> None:
        for chunk in split_text(text, MAX_TEXT):
            self.send({"id": psid}, {"text": chunk}, messaging_type, tag)

    def send_text_once(self, psid: str, text: str, messaging_type: str = "RESPONSE",
                       tag: Optional[str] = None) -> None:
        """One try per part, raising GraphError with Meta's codes: for staff replies, whose
        refusals must be explained (outbound.staff_message), and for the outbox (``one_try``)."""
        self.once().send_text(psid, text, messaging_type, tag)

    def pass_thread_control(self, psid: str, target_app_id: str, metadata: str) -> None:
        self._post("me/pass_thread_control", {"recipient": {"id": psid}, "target_app_id": target_app_id,
                                              "metadata": metadata}, "pass_thread_control")

    def take_thread_control(self, psid: str, metadata: str) -> None:
        self._post("me/take_thread_control", {"recipient": {"id": psid}, "metadata": metadata},
                   "take_thread_control")

    def reply_to_comment(self, comment_id: str, text: str) -> None:
        self._post(f"{comment_id}/comments", {"message": text}, "comment reply")

    def private_reply(self, comment_id: str, text: str) -> None:
        self.send({"comment_id": comment_id}, {"text": text[:MAX_TEXT]})


def split_text(text: str, limit: int) -> List[str]:
    chunks, rest = [], text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return chunks + ([rest] if rest else [])


TAKE_METADATA = "triage: the assistant answers the patient"


class MessengerOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, client: GraphClient, take_thread_first: bool = False) -> None:
        self.client = client
        # Replying to a standby message: Meta refuses sends from an app without the thread.
        self.take_thread_first = take_thread_first

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Queued, never sent here: the webhook's processing must not wait out a rate limit.
        The NLG names the turn's decision (``triage_decision``), which sets the priority."""
        take, self.take_thread_first = self.take_thread_first, False
        if await queue(self.name(), recipient_id, text, kwargs.get("triage_decision"),
                       kind=TAKE_THREAD_THEN_REPLY if take else outbox.BOT_REPLY,
                       language=kwargs.get("triage_language")):
            return
        if take:  # a refusal is logged; the reply is still tried, a crisis reply must not be held back
            await best_effort(f"{self.name()}: take_thread_control", self.client.take_thread_control, recipient_id,
                              TAKE_METADATA)
        await send_async(self.client.send_text, recipient_id, text)

    async def _own_thread(self, recipient_id: Text) -> None:
        if not self.take_thread_first:
            return
        self.take_thread_first = False
        await best_effort(f"{self.name()}: take_thread_control", self.client.take_thread_control, recipient_id,
                          TAKE_METADATA)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        quick = [{"content_type": "text", "title": str(b.get("title", ""))[:20], "payload": str(b.get("payload", ""))}
                 for b in buttons[:13]]
        # Direct: quick replies are more than the outbox's text, and no reply of ours has buttons today.
        await self._own_thread(recipient_id)
        await send_async(self.client.send, {"id": recipient_id}, {"text": text[:MAX_TEXT], "quick_replies": quick})


class InstagramOutput(MessengerOutput):
    """Instagram Direct: the same Send API (me/messages), under its own channel name."""

    @classmethod
    def name(cls) -> Text:
        return INSTAGRAM


def _flag(value: str, default: bool, name: str) -> bool:
    value = value.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    if value:
        logger.warning("messenger: %s is neither true nor false; using the default (%s)", name, default)
    return default


class MessengerInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "MessengerInput":
        return cls(
            verify_token=setting(credentials, "verify", "FACEBOOK_VERIFY_TOKEN"),
            app_secret=setting(credentials, "secret", "FACEBOOK_APP_SECRET"),
            page_access_token=setting(credentials, "page-access-token", "FACEBOOK_PAGE_ACCESS_TOKEN"),
            # `or`: a deployment that passes the variable through empty gets the default too
            graph_url=setting(credentials, "graph-url", "FACEBOOK_GRAPH_URL") or DEFAULT_GRAPH_URL,
            inbox_app_id=setting(credentials, "inbox-app-id", "FACEBOOK_INBOX_APP_ID"),
            pass_thread_control=setting(credentials, "pass-thread-control", "FACEBOOK_PASS_THREAD_CONTROL"),
            instagram_access_token=setting(credentials, "instagram-access-token", "INSTAGRAM_ACCESS_TOKEN"),
        )

    def __init__(self, verify_token: str, app_secret: str, page_access_token: str,
                 graph_url: str = DEFAULT_GRAPH_URL, inbox_app_id: str = "", pass_thread_control: str = "",
                 instagram_access_token: str = "") -> None:
        self.verify_token = verify_token
        self.app_secret = app_secret
        self.client = GraphClient(page_access_token, graph_url)
        self.instagram_client = GraphClient(instagram_access_token or page_access_token, graph_url)
        self.inbox_app_id = inbox_app_id
        self.passes_thread_control = _flag(pass_thread_control, bool(inbox_app_id), "FACEBOOK_PASS_THREAD_CONTROL")
        if self.passes_thread_control and not inbox_app_id:
            logger.warning("messenger: FACEBOOK_PASS_THREAD_CONTROL is on but FACEBOOK_INBOX_APP_ID is not set; "
                           "the thread stays with the assistant")
            self.passes_thread_control = False
        self.configured = bool(verify_token and app_secret and page_access_token)
        if not self.configured:
            logger.warning("messenger: FACEBOOK_VERIFY_TOKEN, FACEBOOK_APP_SECRET and FACEBOOK_PAGE_ACCESS_TOKEN "
                           "are not all set; /webhooks/facebook/webhook answers 404")

    def verify_signature(self, body: bytes, header: Optional[str]) -> bool:
        return hmac_matches(self.app_secret, body, header, lambda digest: digest.hex())

    def get_output_channel(self) -> OutputChannel:
        return MessengerOutput(self.client)

    def senders(self, channel: str, client: GraphClient) -> Tuple[outbox.Send, Dict[str, outbox.Send]]:
        """The outbox's one-try senders for a channel: the reply, and each other row kind."""
        graph = client.once()

        def take_then_reply(psid: str, text: str) -> None:
            # In the same step as the reply, so nothing can come between them; only throttling
            # stops the reply (the row waits): otherwise it is tried without the thread.
            try:
                graph.take_thread_control(psid, TAKE_METADATA)
            except GraphError as exc:
                if exc.rate_limited:
                    raise
                logger.error("%s: take_thread_control refused (code %s); the reply is tried anyway",
                             channel, exc.code)
            graph.send_text(psid, text)

        by_kind = {TAKE_THREAD_THEN_REPLY: take_then_reply,
                   PASS_THREAD: lambda psid, metadata: graph.pass_thread_control(psid, self.inbox_app_id, metadata),
                   PUBLIC_REPLY: graph.reply_to_comment, COMMENT_PRIVATE_REPLY: graph.private_reply}
        return one_try(graph.send_text), {kind: one_try(call) for kind, call in by_kind.items()}

    def _start_senders(self) -> None:
        for channel, client in ((CHANNEL, self.client), (INSTAGRAM, self.instagram_client)):
            try:
                outbox.start_sender(channel, *self.senders(channel, client))
            except Exception as exc:  # noqa: BLE001 - replies then go directly (MessengerOutput)
                logger.error("%s: outbox sender not started (%s)", channel, type(exc).__name__)

    def _output(self, event: MessengerEvent) -> MessengerOutput:
        if event.channel == INSTAGRAM:
            return InstagramOutput(self.instagram_client, take_thread_first=event.standby)
        return MessengerOutput(self.client, take_thread_first=event.standby)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("triage_messenger_webhook", __name__)

        add_health_route(hook, self)
        if self.configured:
            self._start_senders()

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.configured:
                return not_configured()
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                    token.encode("utf-8"), self.verify_token.encode("utf-8")):
                # Echo only a token of the form Meta sends, never arbitrary content.
                challenge = webhook_token(request.args.get("hub.challenge"))
                if not challenge:
                    return response.text("hub.challenge missing or not a token", status=400)
                return response.text(challenge)
            return response.text("forbidden", status=403)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.configured:
                return not_configured()
            try:
                events = parse(signed_json(request, self.verify_signature, "X-Hub-Signature-256"))
            except Rejected as exc:
                return reject(exc)
            wanted = [e for e in events if e.kind != "ignored"]
            if wanted:
                in_background(request.app, "messenger", lambda: self._process(request.app, wanted, on_new_message))
            return response.text("EVENT_RECEIVED")

        return hook

    async def _process(self, app, events: List[MessengerEvent], on_new_message) -> None:
        async def handle(event: MessengerEvent) -> None:
            if event.kind == "comment":
                await self._comment(app, event)
            elif event.kind == "handover":
                await self._handover(event)
            elif event.standby and not await send_async(_held_by_a_case, event):
                await self._standby_unheld(app, event, on_new_message)
            else:
                await self._message(event, on_new_message)

        # one payload, one object type: Messenger and Instagram ids are deduplicated apart
        await process_events(events[0].channel, events, handle)

    async def _message(self, event: MessengerEvent, on_new_message) -> None:
        metadata = {"channel": event.channel, "page_id": event.page_id}
        if event.attachments:
            metadata["attachments"] = event.attachments
        message = UserMessage(event.text, self._output(event), event.sender_id, input_channel=event.channel,
                              message_id=event.event_id, metadata=metadata)
        passes = event.channel == CHANNEL and self.passes_thread_control
        case_id = await deliver(on_new_message, message, report_new_case=passes)
        if case_id and passes:
            # Queued as routine: it goes after every reply queued before it, which Meta would
            # refuse once the inbox owns the thread; a later crisis reply still goes first.
            metadata = f"triage case {case_id}"
            if not await queue(CHANNEL, event.sender_id, metadata, DECISION_ANSWER, kind=PASS_THREAD, case_id=case_id):
                await send_async(self.client.pass_thread_control, event.sender_id, self.inbox_app_id, metadata)

    async def _standby_unheld(self, app, event: MessengerEvent, on_new_message) -> None:
        """A message while another app owns a thread no case of ours holds (staff took it
        in the inbox, or another app): theirs to answer, except a crisis, which is never
        silent: that one takes the whole path (thread taken, crisis reply, urgent case, pause)."""
        decision = await classify_public(app.ctx.agent, event.text)
        if decision.is_crisis:
            await self._message(event, on_new_message)

    async def _handover(self, event: MessengerEvent) -> None:
        info = event.handover
        logger.info("%s: %s (new owner app %s, previous owner app %s)", event.channel, info["kind"],
                    info["new_owner"] or "-", info["previous_owner"] or "-")
        # The inbox passing the thread back ("done" in the Page inbox): the bot answers again.
        if info["kind"] == "pass_thread_control" and info["new_owner"] and info["new_owner"] != self.inbox_app_id:
            await send_async(_request_resume, event.channel, event.sender_id)

    async def _comment(self, app, event: MessengerEvent) -> None:
        """Public comment: never discuss health in public, never echo the comment."""
        decision = await classify_public(app.ctx.agent, event.text)
        if not decision.escalates:
            answer = reply_for(decision.as_dict(), event.text)
            if not await queue(CHANNEL, event.comment_id, answer, DECISION_ANSWER, kind=PUBLIC_REPLY):
                await send_async(self.client.reply_to_comment, event.comment_id, answer)
            return
        # The case first: a refused public reply (a missing permission, a deleted comment)
        # must not cancel it. handoff.escalate spools it if the database is down. Then each
        # platform call on its own row, so one refused cancels nothing; the private reply's
        # final failure notes this case.
        reply, case_id = await send_async(handoff.escalate, event.sender_id, COMMENT_CHANNEL, decision, event.text)
        public_key = "public_crisis" if decision.is_crisis else "public_private"
        public = Replies(clinic_config.current(), decision.language).phrase(public_key)
        if not await queue(CHANNEL, event.comment_id, public, decision.decision, kind=PUBLIC_REPLY, case_id=case_id):
            await best_effort("messenger: public comment reply", self.client.reply_to_comment, event.comment_id,
                              public)
        if not await queue(CHANNEL, event.comment_id, reply, decision.decision, kind=COMMENT_PRIVATE_REPLY,
                           case_id=case_id, language=decision.language):
            await best_effort("messenger: private reply", self.client.private_reply, event.comment_id, reply)


def _held_by_a_case(event: MessengerEvent) -> bool:
    try:
        case = services.default().cases.active_case(event.channel, event.sender_id)
    except Exception as exc:  # noqa: BLE001
        # Unknown: the handoff path, which lets the message reach Rasa if the database is down
        logger.error("%s: standby case lookup failed (%s)", event.channel, type(exc).__name__)
        return True
    return bool(case and case["paused"])


def _request_resume(channel: str, sender_id: str) -> None:
    """The worker resumes the conversation (handback.resume), as after a resolve; the case stays open."""
    svc = services.default()
    case = svc.cases.active_case(channel, sender_id)
    if case and case["paused"]:
        svc.cases.request_resume(case["id"], HANDED_BACK)
