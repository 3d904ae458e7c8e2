"""Rasa's validation of an action-server response, as shipped and as compiled once (triage/rasa/patches.py)."""
from __future__ import annotations

import time
from typing import Dict

RESPONSE = {"events": [{"event": "slot", "timestamp": None, "name": "language", "value": "en"},
                       {"event": "pause", "timestamp": None}],
            "responses": [{"text": "We have moved this to a private channel.", "buttons": [], "custom": {}}]}


def run(calls: int) -> Dict[str, float]:
    from rasa.core.actions.action import RemoteAction

    from triage.rasa import patches as rasa_patches

    action = RemoteAction("action_escalate", None)
    figures = {}
    for name, validate in (("rasa_ms", rasa_patches._original), ("compiled_ms", rasa_patches._validate_action_result)):
        validate(action, RESPONSE)  # warm
        start = time.perf_counter()
        for _ in range(calls):
            validate(action, RESPONSE)
        figures[name] = round((time.perf_counter() - start) / calls * 1000, 2)
    return figures
