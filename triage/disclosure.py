"""Telling a person they are talking to an automated assistant (Meta's Messenger and
Instagram policy; good practice on every channel): the first reply of every new
conversation carries replies.yml's ``automated_assistant`` line, in the patient's
language, once per conversation. A conversation is new until the bot has said
anything since it started (a restart or a new session starts one again).

The line goes after the reply, never before it: a crisis reply must still start with
the emergency numbers.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker

from triage import clinic as clinic_config
from triage.replies import Replies

KEY = "automated_assistant"


def first_reply(tracker: DialogueStateTracker) -> bool:
    """True while the bot has not spoken since the conversation (re)started."""
    return not any(isinstance(event, BotUttered) for event in tracker.applied_events())


def add_to(response: Optional[Dict[str, Any]], tracker: DialogueStateTracker,
           language: Optional[str]) -> Optional[Dict[str, Any]]:
    """``response`` with the disclosure line appended when this is the conversation's first reply."""
    if not response or not response.get("text") or not first_reply(tracker):
        return response
    line = Replies(clinic_config.current(), language or "").phrase(KEY)
    return {**response, "text": f"{response['text']}\n\n{line}"}
