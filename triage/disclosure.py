"""Telling a person they are talking to an automated assistant (Meta's Messenger and
Instagram policy; good practice on every channel): the first reply of every new
conversation carries replies.yml's ``automated_assistant`` line, in the patient's
language, once per conversation. A conversation is new until the bot has said
anything since it started (a restart or a new session starts one again).

The line goes after the reply, never before it: a crisis reply must still start with
the emergency numbers.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker

from triage import clinic as clinic_config
from triage.replies import Replies

KEY = "automated_assistant"


def first_reply(events: Iterable[Any]) -> bool:
    """True while the bot has not spoken in these events (a tracker's ``applied_events()``:
    Rasa's event objects in the server, event dicts in the action server)."""
    return not any(isinstance(event, BotUttered) or (isinstance(event, dict) and event.get("event") == "bot")
                   for event in events)


def with_line(text: str, events: Iterable[Any], language: Optional[str]) -> str:
    """``text`` with the disclosure line appended when this is the conversation's first reply."""
    if not text or not first_reply(events):
        return text
    return f"{text}\n\n{Replies(clinic_config.current(), language or '').phrase(KEY)}"


def add_to(response: Optional[Dict[str, Any]], tracker: DialogueStateTracker,
           language: Optional[str]) -> Optional[Dict[str, Any]]:
    """An NLG ``response`` with the line added to its text on the conversation's first reply."""
    if not response or not response.get("text"):
        return response
    return {**response, "text": with_line(response["text"], tracker.applied_events(), language)}
