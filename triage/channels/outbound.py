"""What reaches a patient outside a Rasa turn: staff replies through the channel the
case came from, the Messenger thread taken back when a case resumes, and the
best-effort platform calls of the public-comment and mention handlers."""
from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from triage.cases import RESOLVED, CaseError
from triage.channels.webhook import send_async
from triage.handoff import Services

logger = logging.getLogger(__name__)

HANDED_BACK = "handed_back"  # resume reason: the staff inbox passed the thread back to us


async def best_effort(what: str, func: Callable[..., Any], *args: Any) -> bool:
    """One platform call that must not stop the next (the staff case is already open).
    A failure is logged with its type only: the arguments hold the patient's ids and text."""
    try:
        await send_async(func, *args)
        return True
    except Exception as exc:  # noqa: BLE001
        logger.error("%s failed (%s)", what, type(exc).__name__)
        return False


def return_thread(case: Mapping[str, Any], sender_id: str, reason: str) -> None:
    """After a resume (handoff.resume): a Messenger thread passed to the staff inbox comes
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
        # Staff answer outside the 24-hour window too: Meta's human-agent tag (7 days).
        client.send_text(recipient, text, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    elif channel == "x":
        from triage.channels.x_dm import XInput

        x = XInput.from_credentials(None)
        if not x.configured:
            raise CaseError("X is not configured (X_* settings)")
        x.client.send_dm(recipient, text)
    else:
        raise CaseError(f"a {channel} conversation cannot receive a reply from here; "
                        "contact the patient through the secure channel or by phone")
    svc.cases.attach(case_id, text, author=f"staff:{staff}", channel=channel, event="reply_sent",
                     actor=f"staff:{staff}")
    return channel
