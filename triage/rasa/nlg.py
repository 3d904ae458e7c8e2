"""Routine answers built inside the Rasa server, as a Rasa NLG (endpoints.yml `nlg:`).

Rules send every routine intent to the response `utter_answer`; this generator
fills it from clinic.yml with the same `reply_for` the action server uses.
Answering in-process spares each routine turn an action-server call, in which
Rasa serialises the whole conversation to JSON and the SDK parses it back: the
cost that grew with every turn of a conversation.

Escalations are answered here too: rules send every escalating intent to the
response `utter_escalate` (the private or crisis reply and the staff case, through
`handoff.escalate`), then to `action_escalate` on the action server, which only
pauses the conversation. So a crisis gets its reply and its case even when the
action server is down: Rasa runs a failed action as "events lost, bot continues",
and our channels hold the conversation by its case (channels/base.py `deliver`).
Rasa's core fallback is `utter_answer` as well (config.yml).

    nlg:
      type: triage.rasa.nlg.TriageNLG
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE, counts, disclosure, handoff
from triage.decision import Decision, of_parse_data

logger = logging.getLogger(__name__)

ANSWER = "utter_answer"
ESCALATE = "utter_escalate"
# Last resort should domain.yml lack utter_escalate too: never an empty reply to a crisis.
FALLBACK_ESCALATION = "If this is an emergency, call your local emergency number now."


class TriageNLG(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config=None, domain=None) -> None:
        super().__init__(domain.responses if domain else {})

    async def generate(self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text,
                       **kwargs: Any) -> Optional[Dict[Text, Any]]:
        response = await self._generate(utter_action, tracker, output_channel, **kwargs)
        if not response:
            return response
        message = tracker.latest_message
        decision = of_parse_data(message.parse_data if message else None)
        sent_as = DECISION_PRIVATE if utter_action == ESCALATE and not decision.escalates else decision.decision
        # Channels that queue their replies (triage/outbox.py) send crisis first by this.
        response = {**response, "triage_decision": sent_as, "triage_language": decision.language}
        try:  # the first reply of a conversation says it comes from an automated assistant
            return disclosure.add_to(response, tracker, decision.language)
        except Exception as exc:  # noqa: BLE001 - never at the cost of the reply
            logger.error("automated-assistant line not added (%s)", type(exc).__name__)
            return response

    async def _generate(self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text,
                        **kwargs: Any) -> Optional[Dict[Text, Any]]:
        if utter_action not in (ANSWER, ESCALATE):
            return await super().generate(utter_action, tracker, output_channel, **kwargs)
        message = tracker.latest_message
        decision = of_parse_data(message.parse_data if message else None)
        text = (message.text if message else "") or ""
        channel = tracker.get_latest_input_channel() or "unknown"
        escalating = utter_action == ESCALATE or decision.escalates
        # The one place each handled message meets its decision: counted for the inbox reports
        # (in memory; written in batches, never failing or slowing the turn).
        counts.from_tracker(tracker, (DECISION_CRISIS if decision.is_crisis else DECISION_PRIVATE)
                            if escalating else DECISION_ANSWER, channel, decision.language)
        if escalating:
            if utter_action == ANSWER:
                # Only the core fallback, or an "/intent" shortcut sent through Rasa's
                # token-protected HTTP API, gets here (the channels turn a patient's shortcut
                # into words). Never an automatic answer: the case holds the conversation from
                # the next message on (our channels check it before Rasa).
                logger.warning("utter_answer for a %s decision; escalating", decision.decision)
            return await self._escalation(utter_action, tracker, output_channel, channel, decision, text, **kwargs)
        if decision.review:  # a database write: off the event loop
            return {"text": await asyncio.to_thread(handoff.answer, tracker.sender_id, channel, decision, text)}
        return {"text": handoff.answer(tracker.sender_id, channel, decision, text)}

    async def _escalation(self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text,
                          channel: str, decision: Decision, text: str, **kwargs: Any) -> Dict[Text, Any]:
        """The private or crisis reply, whatever fails behind it: handoff.escalate already
        spools when the database is down; should even the reply itself fail (clinic.yml
        unreadable), domain.yml's utter_escalate text, which gives the emergency number first."""
        try:
            reply, _ = await asyncio.to_thread(handoff.escalate, tracker.sender_id, channel, decision, text)
            return {"text": reply}
        except Exception as exc:  # noqa: BLE001 - a crisis is never silent
            logger.critical("escalation reply failed (%s); sent the domain's fallback text", type(exc).__name__)
        fallback = await super().generate(ESCALATE, tracker, output_channel, **kwargs)
        return fallback or {"text": FALLBACK_ESCALATION}
