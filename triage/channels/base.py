"""What every input channel of ours does around Rasa's on_new_message."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX

from triage import handoff

logger = logging.getLogger(__name__)

# Not whitespace, so Rasa's strip() keeps it; invisible where staff read the message.
SHORTCUT_GUARD = "\u2060"  # WORD JOINER


def without_shortcut(text: Optional[str]) -> Optional[str]:
    """Rasa reads a text starting with "/" as an intent shortcut ("/greet", '/x{"k": "v"}') and
    skips the model and the triage decision for it. A patient must never pick their own
    intent: such a text goes to Rasa behind an invisible character, to be classified as words."""
    if text and text.lstrip().startswith(INTENT_MESSAGE_PREFIX):
        return SHORTCUT_GUARD + text.lstrip()
    return text


async def deliver(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> Optional[str]:
    """Hands a message to Rasa, after the handoff layer has seen it.

    While staff hold a conversation the message is attached to their case (and a
    crisis is still answered at once); Rasa then stores it without answering.
    If the handoff layer fails, the message still reaches Rasa: nothing is lost.
    Returns the id of a case this message opened, so that the channel can hand
    the thread to the staff inbox.
    """
    intercepted = handoff.Intercepted([])
    try:
        intercepted = await asyncio.to_thread(handoff.intercept, handoff.services(), message.sender_id,
                                              message.input_channel, message.text or "", message.metadata)
    except Exception as exc:  # noqa: BLE001
        logger.error("handoff check failed for a %s message (%s)", message.input_channel, type(exc).__name__)
    for text in intercepted.replies:
        await message.output_channel.send_text_message(message.sender_id, text)
    if intercepted.consumed:
        return None
    message.text = without_shortcut(message.text)
    await on_new_message(message)
    if intercepted.case_id is not None:
        return None
    try:
        return await asyncio.to_thread(handoff.active_case_id, handoff.services(), message.sender_id,
                                       message.input_channel)
    except Exception as exc:  # noqa: BLE001
        logger.error("handoff lookup failed for a %s message (%s)", message.input_channel, type(exc).__name__)
        return None
