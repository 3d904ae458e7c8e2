"""Rasa SDK actions. They turn the triage result into a reply and, for
escalations, hand the conversation to staff.

The decision itself is made once, in the NLU pipeline (triage.component); the
actions read it from ``tracker.latest_message["triage"]``.
"""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from triage import DECISION_ANSWER, handoff
from triage.decision import of_parse_data
from triage.language import SUPPORTED


def _triage(tracker: Tracker) -> Dict[str, Any]:
    return of_parse_data(tracker.latest_message)


def _language(triage: Dict[str, Any]) -> List[Dict[str, Any]]:
    language = triage.get("language")
    return [SlotSet("language", language)] if language in SUPPORTED else []


class ActionAnswer(Action):
    """Rasa's core fallback (the rules answer routine messages with utter_answer, in
    the Rasa server). Answers a routine message; escalates anything else."""

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        triage = _triage(tracker)
        if triage["decision"] != DECISION_ANSWER:
            return await ActionEscalate().run(dispatcher, tracker, domain)
        text = (tracker.latest_message or {}).get("text") or ""
        dispatcher.utter_message(text=handoff.answer(tracker.sender_id, tracker.get_latest_input_channel() or "unknown",
                                                     triage, text))
        return _language(triage)


class ActionEscalate(Action):
    """Private or crisis: the reply and a staff case (triage.handoff.escalation), then the pause."""

    def name(self) -> Text:
        return "action_escalate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        triage = _triage(tracker)
        reply, _ = handoff.escalation(tracker.sender_id, tracker.get_latest_input_channel() or "unknown", triage,
                                      (tracker.latest_message or {}).get("text") or "")
        dispatcher.utter_message(text=reply)
        # Paused either way: a sensitive conversation must not fall back to automatic answers.
        return _language(triage) + [ConversationPaused()]
