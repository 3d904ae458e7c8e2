"""Routine answers built inside the Rasa server, as a Rasa NLG (endpoints.yml `nlg:`).

Rules send every routine intent to the response `utter_answer`; this generator
fills it from clinic.yml with the same `reply_for` the action server uses.
Answering in-process spares each routine turn an action-server call, in which
Rasa serialises the whole conversation to JSON and the SDK parses it back: the
cost that grew with every turn of a conversation.

Escalations still go to `action_escalate` on the action server (case, staff
notice, pause, audit), and so does Rasa's core fallback (`action_answer`).

    nlg:
      type: triage.nlg.TriageNLG
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker

from triage import DECISION_ANSWER, handoff
from triage.decision import of_parse_data

logger = logging.getLogger(__name__)

ANSWER = "utter_answer"


class TriageNLG(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config=None, domain=None) -> None:
        super().__init__(domain.responses if domain else {})

    async def generate(self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text,
                       **kwargs: Any) -> Optional[Dict[Text, Any]]:
        if utter_action != ANSWER:
            return await super().generate(utter_action, tracker, output_channel, **kwargs)
        message = tracker.latest_message
        triage = of_parse_data(message.parse_data if message else None)
        text = (message.text if message else "") or ""
        channel = tracker.get_latest_input_channel() or "unknown"
        if triage["decision"] != DECISION_ANSWER:
            # Only a rule mix-up, or an "/intent" shortcut sent through Rasa's token-protected
            # HTTP API, gets here (the channels turn a patient's shortcut into words). Never
            # an automatic answer: the private or crisis reply and a staff case, as
            # action_escalate gives. The case holds the conversation from the next message on
            # (our channels check it before Rasa), though no ConversationPaused can be set here.
            logger.warning("utter_answer for a %s decision; escalating", triage["decision"])
            reply, _ = await asyncio.to_thread(handoff.escalation, tracker.sender_id, channel, triage, text)
            return {"text": reply}
        if triage.get("review"):  # a database write: off the event loop
            return {"text": await asyncio.to_thread(handoff.answer, tracker.sender_id, channel, triage, text)}
        return {"text": handoff.answer(tracker.sender_id, channel, triage, text)}
