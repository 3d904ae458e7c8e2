"""What every input channel of ours does around Rasa's on_new_message."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import UserMessage

from triage import handoff, services
from triage.decision import Decision, of_parse_data
from triage.shortcuts import without_shortcut
from triage.text import clean

logger = logging.getLogger(__name__)


async def deliver(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage,
                  report_new_case: bool = False) -> Optional[str]:
    """Hands a message to Rasa, after the handoff layer has seen it.

    While staff hold a conversation the message is attached to their case (and a
    crisis is still answered at once) and goes no further: Rasa does not answer it,
    whether or not its own pause ever arrived.
    If the handoff layer fails, the message still reaches Rasa: nothing is lost.
    With ``report_new_case``, returns the id of a case this message opened, so that
    the channel can hand the thread to the staff inbox (one more lookup per message,
    so only a channel that uses it asks).
    """
    async with _in_arrival_order(message.input_channel, message.sender_id):
        return await _deliver(on_new_message, message, report_new_case)


# (channel, sender) -> [lock, messages waiting or in hand]; an entry lives while it is used.
_turns: Dict[Tuple[str, str], list] = {}


@contextlib.asynccontextmanager
async def _in_arrival_order(channel: Optional[str], sender_id: Optional[str]):
    """One sender's messages are handled one at a time, in the order they arrived: the
    platforms' webhooks are answered at once and processed in the background, so "ok" and a
    crisis sent right after it would otherwise reach the case in either order."""
    key = (channel or "", sender_id or "")
    entry = _turns.setdefault(key, [asyncio.Lock(), 0])
    entry[1] += 1
    try:
        async with entry[0]:
            yield
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            _turns.pop(key, None)


async def _deliver(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage,
                   report_new_case: bool) -> Optional[str]:
    # Before anything else: the case, red flags and the model all read the same text.
    if message.text:
        message.text = clean(message.text)
    intercepted = handoff.Intercepted([])
    try:
        intercepted = await asyncio.to_thread(handoff.intercept, services.default(), message.sender_id,
                                              message.input_channel, message.text or "", message.metadata)
    except Exception as exc:  # noqa: BLE001
        logger.error("handoff check failed for a %s message (%s)", message.input_channel, type(exc).__name__)
    for text in intercepted.replies:
        await message.output_channel.send_text_message(message.sender_id, text, triage_decision=intercepted.decision)
    if intercepted.consumed:
        return None
    # "/restart" restarts the conversation, unless a case holds it (triage/shortcuts.py)
    message.text = without_shortcut(message.text, allow_restart=intercepted.case_id is None)
    await on_new_message(message)
    if intercepted.case_id is not None or not report_new_case:
        return None
    try:
        return await asyncio.to_thread(handoff.active_case_id, services.default(), message.sender_id,
                                       message.input_channel)
    except Exception as exc:  # noqa: BLE001
        logger.error("handoff lookup failed for a %s message (%s)", message.input_channel, type(exc).__name__)
        return None


async def classify_public(agent, text: str) -> Decision:
    """The decision for a public comment or mention, which Rasa classifies but never
    answers in a conversation. Same shortcut guard as a message; no decision is private."""
    return of_parse_data(await agent.parse_message(without_shortcut(clean(text))))
