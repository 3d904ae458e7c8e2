"""Rasa SDK actions. Since the replies moved into the Rasa server (triage/nlg.py), the
action server only pauses a conversation after an escalation.

The decision itself is made once, in the NLU pipeline (triage.component); the
actions read it from ``tracker.latest_message["triage"]``.
"""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from triage.decision import of_parse_data
from triage.language import SUPPORTED


def _language(triage: Dict[str, Any]) -> List[Dict[str, Any]]:
    language = triage.get("language")
    return [SlotSet("language", language)] if language in SUPPORTED else []


class ActionEscalate(Action):
    """Runs after utter_escalate, which already gave the private or crisis reply and opened
    the staff case (triage.nlg -> handoff.escalation): pauses the conversation and records
    its language. It opens no case, so the escalation is never recorded twice. If this
    action fails (action server down), the reply and the case still exist, and our
    channels hold the conversation by its case (triage/channels/base.py `deliver`)."""

    def name(self) -> Text:
        return "action_escalate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        # Paused either way: a sensitive conversation must not fall back to automatic answers.
        return _language(of_parse_data(tracker.latest_message)) + [ConversationPaused()]
