"""What reaches a patient outside a Rasa turn: staff replies through the channel the
case came from, and the Messenger thread taken back when a case resumes.

Meta's messaging windows (Messenger and Instagram) decide how a staff reply may go:
within 24 hours of the patient's last message as a standard reply (``RESPONSE``);
from 24 hours to 7 days only with the ``HUMAN_AGENT`` tag, which Meta grants an app
in App Review (FACEBOOK_HUMAN_AGENT=1 says it did); after 7 days not at all. A reply
that may not go is refused before any call, with the reason, and the console and the
CLI keep the draft. Graph API refusals are turned into what staff can do about them;
a rate limit is not waited out here (the console's request would hang for Meta's
estimate, often minutes): staff are told when to try again."""
from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Mapping, Optional, Tuple

from sqlalchemy import func, select

from triage import db
from triage.cases import HANDED_BACK, RESOLVED, CaseError
from triage.services import Services

logger = logging.getLogger(__name__)


ENV_HUMAN_AGENT = "FACEBOOK_HUMAN_AGENT"  # 1: Meta approved the app for the HUMAN_AGENT tag
STANDARD_WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)
KEEP_DRAFT = " Nothing was sent; your draft is kept."


class ReplyRefused(CaseError):
    """A staff reply that did not go out; the message says why and what to do."""


def human_agent_enabled() -> bool:
    return os.environ.get(ENV_HUMAN_AGENT, "").strip().lower() in ("1", "true", "yes", "on")


def last_patient_message_at(svc: Services, case: Mapping[str, Any]) -> dt.datetime:
    """When the patient last wrote on this case (messages whose text retention removed count too)."""
    with db.reading(svc.cases.engine) as connection:
        latest = connection.execute(select(func.max(db.case_messages.c.ts)).where(
            db.case_messages.c.case_id == case["id"], db.case_messages.c.author == "patient")).scalar()
    return db.aware(latest or case["created_at"])


def messaging_window(last_message: dt.datetime, now: Optional[dt.datetime] = None) -> Tuple[str, Optional[str]]:
    """(messaging_type, tag) for a Meta staff reply, or ReplyRefused with the reason."""
    age = (now or db.utcnow()) - last_message
    if age <= STANDARD_WINDOW:
        return "RESPONSE", None
    hours = int(age.total_seconds() // 3600)
    if age > HUMAN_AGENT_WINDOW:
        raise ReplyRefused(f"The patient last wrote {hours // 24} days ago: Meta allows no reply after 7 days. "
                           "Contact the patient by phone or through the secure channel." + KEEP_DRAFT)
    if not human_agent_enabled():
        raise ReplyRefused(f"The patient last wrote {hours} hours ago: after 24 hours Meta allows a reply only "
                           "with its human-agent permission, which is not enabled here (FACEBOOK_HUMAN_AGENT, "
                           "see docs/platforms.md). Contact the patient by phone or through the secure channel."
                           + KEEP_DRAFT)
    return "MESSAGE_TAG", "HUMAN_AGENT"


def staff_message(exc) -> str:
    """What a Graph API refusal (messenger.GraphError) means for the person replying."""
    code, subcode = exc.code, exc.subcode
    if code == 10 or subcode == 2018278:
        text = ("Meta refused: the reply is outside the messaging window (the patient's last message is too old "
                "for this kind of reply). Contact the patient by phone or through the secure channel.")
    elif code == 551 or subcode == 1545041:
        text = ("Meta refused: this person is not available (they blocked the page, deleted their account or "
                "cannot receive messages now). Contact the patient another way.")
    elif exc.rate_limited:  # messenger.RATE_LIMIT_CODES, 368 temporarily blocked
        until = db.utcnow() + dt.timedelta(seconds=exc.retry_after or 60)
        text = (f"Meta is limiting how many messages we send (rate limit, code {code}). "
                f"Try again after {until:%H:%M} UTC.")
    elif code == 190:
        text = ("Meta refused the page's access token (expired or invalid): an administrator must renew "
                "FACEBOOK_PAGE_ACCESS_TOKEN / INSTAGRAM_ACCESS_TOKEN (docs/platforms.md).")
    else:
        text = f"Meta refused the reply (HTTP {exc.status}, error code {code}, subcode {subcode})."
    return text + KEEP_DRAFT


def send_meta_staff_reply(client, recipient: str, text: str, messaging_type: str, tag: Optional[str]) -> None:
    """One try through the Graph API, as for X: a refusal, a rate limit included, is
    explained at once (with the time Meta names), never slept on in the console's request."""
    from triage.channels.messenger import GraphError

    try:
        client.send_text_once(recipient, text, messaging_type=messaging_type, tag=tag)
    except GraphError as exc:
        logger.warning("staff reply refused by the Graph API (code %s, subcode %s)", exc.code, exc.subcode)
        raise ReplyRefused(staff_message(exc)) from None
    except OSError as exc:  # requests' connection errors are OSErrors
        raise ReplyRefused(f"Meta could not be reached ({type(exc).__name__}). Try again shortly."
                           + KEEP_DRAFT) from None


def return_thread(case: Mapping[str, Any], sender_id: str, reason: str) -> None:
    """After a resume (handback.resume): a Messenger thread passed to the staff inbox comes
    back to the assistant, else Meta keeps it with the inbox and refuses the bot's replies.
    Never fails the resume; other channels have no thread to take."""
    if case["channel"] != "facebook" or reason == HANDED_BACK:
        return
    from triage.channels.messenger import MessengerInput

    try:
        messenger = MessengerInput.from_credentials(None)
        if messenger.configured and messenger.passes_thread_control:
            messenger.client.take_thread_control(sender_id, f"triage case {case['id']} {reason}")
    except Exception as exc:  # noqa: BLE001
        logger.error("case %s: thread control not taken back (%s)", case["id"], type(exc).__name__)


def send_x_staff_reply(client, recipient: str, text: str) -> None:
    """One try: X's rate-limit reset can be many minutes away, too long for staff to wait on a page."""
    from triage import outbox

    try:
        client.send_dm_once(recipient, text)
    except outbox.Retry as exc:
        until = db.utcnow() + dt.timedelta(seconds=exc.after)
        raise ReplyRefused(f"X did not take the reply now ({exc.reason}); try again after "
                           f"{until:%H:%M} UTC." + KEEP_DRAFT) from None
    except outbox.Refused as exc:
        raise ReplyRefused(f"X refused the reply ({exc}). Contact the patient another way." + KEEP_DRAFT) from None


def send_staff_reply(svc: Services, case_id: str, staff: str, text: str) -> str:
    if not text.strip():
        raise CaseError("the reply is empty")
    case = svc.cases.get(case_id)
    if case["status"] == RESOLVED:
        raise CaseError(f"case {case_id} is resolved; the bot has the conversation again")
    recipient = svc.cases.sender_id(case)
    channel = case["channel"]
    if channel in ("facebook", "instagram"):
        from triage.channels.messenger import MessengerInput

        messenger = MessengerInput.from_credentials(None)
        if not messenger.configured:
            raise CaseError("Messenger is not configured (FACEBOOK_* settings)")
        client = messenger.client if channel == "facebook" else messenger.instagram_client
        messaging_type, tag = messaging_window(last_patient_message_at(svc, case))
        send_meta_staff_reply(client, recipient, text, messaging_type, tag)
    elif channel == "x":
        from triage.channels.x_dm import XInput

        x = XInput.from_credentials(None)
        if not x.configured:
            raise CaseError("X is not configured (X_* settings)")
        send_x_staff_reply(x.client, recipient, text)
    else:
        raise CaseError(f"a {channel} conversation cannot receive a reply from here; "
                        "contact the patient through the secure channel or by phone")
    svc.cases.attach(case_id, text, author=f"staff:{staff}", channel=channel, event="reply_sent",
                     actor=f"staff:{staff}")
    return channel
