"""Rasa's intent shortcuts, kept away from patients' text.

Rasa reads a text starting with "/" as an intent shortcut ("/greet", '/x{"k": "v"}'): its
RegexMessageHandler, which runs after every classifier, replaces the parse with that intent
and drops our triage decision. A patient must never pick their own intent, so the channels
and `triage classify` pass such a text on behind an invisible character, to be classified as
words like any other.

One exception, ``restart``: "/restart" is a command a patient may know from Rasa bots, and
as words it read as doubt and opened a private case. Sent as it is (nothing else with it),
it reaches Rasa as its default restart intent, whose rule runs action_restart: the
conversation starts over, without a reply or a case. Not while a case holds the
conversation, though: Rasa lets a restart through a pause, which would give the bot back
the conversation staff hold; there it stays words, stored on the case.
"""
from __future__ import annotations

from typing import Optional

from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART

# Not whitespace, so Rasa's strip() keeps it; invisible where staff read the message.
GUARD = "\u2060"  # WORD JOINER
RESTART = INTENT_MESSAGE_PREFIX + USER_INTENT_RESTART


def without_shortcut(text: Optional[str], allow_restart: bool = False) -> Optional[str]:
    """``text`` as words for Rasa; with ``allow_restart``, a bare "/restart" stays Rasa's command."""
    if text and text.lstrip().startswith(INTENT_MESSAGE_PREFIX):
        if allow_restart and text.strip().lower() == RESTART:
            return RESTART
        return GUARD + text.lstrip()
    return text
