"""Rasa's intent shortcuts, kept away from patients' text.

Rasa reads a text starting with "/" as an intent shortcut ("/greet", '/x{"k": "v"}'): its
RegexMessageHandler, which runs after every classifier, replaces the parse with that intent
and drops our triage decision. A patient must never pick their own intent, so the channels
and `triage classify` pass such a text on behind an invisible character, to be classified as
words like any other.
"""
from __future__ import annotations

from typing import Optional

from rasa.shared.constants import INTENT_MESSAGE_PREFIX

# Not whitespace, so Rasa's strip() keeps it; invisible where staff read the message.
GUARD = "\u2060"  # WORD JOINER


def without_shortcut(text: Optional[str]) -> Optional[str]:
    if text and text.lstrip().startswith(INTENT_MESSAGE_PREFIX):
        return GUARD + text.lstrip()
    return text
