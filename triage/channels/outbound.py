"""Staff replies to a patient, sent through the channel the case came from."""
from __future__ import annotations

from triage.cases import RESOLVED, CaseError
from triage.handoff import Services


def send_staff_reply(svc: Services, case_id: str, staff: str, text: str) -> str:
    if not text.strip():
        raise CaseError("the reply is empty")
    case = svc.cases.get(case_id)
    if case["status"] == RESOLVED:
        raise CaseError(f"case {case_id} is resolved; the bot has the conversation again")
    recipient = svc.cases.sender_id(case)
    channel = case["channel"]
    if channel == "facebook":
        from triage.channels.messenger import MessengerInput

        messenger = MessengerInput.from_credentials(None)
        if not messenger.configured:
            raise CaseError("Messenger is not configured (FACEBOOK_* settings)")
        # Staff answer outside the 24-hour window too: Meta's human-agent tag (7 days).
        messenger.client.send_text(recipient, text, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
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
