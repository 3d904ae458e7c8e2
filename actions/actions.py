"""Rasa SDK actions. Since the replies moved into the Rasa server (triage/rasa/nlg.py), the
action server only pauses a conversation after an escalation.

The decision itself is made once, in the NLU pipeline (triage.rasa.component); the
actions read it from ``tracker.latest_message["triage"]``.
"""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from triage import DECISION_CRISIS, DECISION_PRIVATE, disclosure, handoff
from triage.decision import Decision, of_parse_data
from triage.language import SUPPORTED


def _language(decision: Decision) -> List[Dict[str, Any]]:
    return [SlotSet("language", decision.language)] if decision.language in SUPPORTED else []


class ActionEscalate(Action):
    """Runs after utter_escalate, which already gave the private or crisis reply and opened
    the staff case (triage.rasa.nlg -> handoff.escalate): pauses the conversation and records
    its language. It opens no case after utter_escalate, so the escalation is never
    recorded twice (only under a model trained before utter_escalate, which routes
    escalations straight here, does it give the reply and open the case). If this
    action fails (action server down), the reply and the case still exist, and our
    channels hold the conversation by its case (triage/channels/base.py `deliver`)."""

    def name(self) -> Text:
        return "action_escalate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        decision = of_parse_data(tracker.latest_message)
        if not _answered_in_server(tracker):
            # A model trained before utter_escalate existed routes straight here: the
            # reply and the case must still come, once.
            reply, _ = handoff.escalate(tracker.sender_id, tracker.get_latest_input_channel() or "unknown", decision,
                                        (tracker.latest_message or {}).get("text") or "")
            # as triage.rasa.nlg does: the automated-assistant line on a first reply, the decision for the outbox
            dispatcher.utter_message(text=disclosure.with_line(reply, tracker.applied_events(), decision.language),
                                     triage_decision=DECISION_CRISIS if decision.is_crisis else DECISION_PRIVATE,
                                     triage_language=decision.language)
        # Paused either way: a sensitive conversation must not fall back to automatic answers.
        return _language(decision) + [ConversationPaused()]


def _answered_in_server(tracker: Tracker) -> bool:
    """Whether utter_escalate ran in this turn (since the patient's latest message)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == "utter_escalate":
            return True
    return False
