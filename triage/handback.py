"""Giving a conversation back to the bot once staff are done with it.

- ``resolve`` (staff CLI and console) resolves a case, queues a staff correction for
  review, and resumes the conversation;
- ``resume`` (also the worker, for idle cases and resumes that failed) un-pauses it
  through Rasa's HTTP API, and takes back a Messenger thread passed to the staff inbox
  (channels.outbound.return_thread).

Apart from triage/handoff.py because it reaches the channels (to take a thread back),
which themselves escalate and hold through handoff: one module doing both was an
import cycle.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import quote

import requests

from triage.channels import outbound
from triage.services import Services

logger = logging.getLogger(__name__)

ENV_RASA_URL = "TRIAGE_RASA_URL"
ENV_TOKEN = "RASA_AUTH_TOKEN"
TOKEN_FILE = Path(__file__).resolve().parent.parent / "var" / "rasa-token"


def resolve(svc: Services, case_id: str, staff: str, outcome: str, correct_intent: Optional[str] = None,
            was_routine: bool = False) -> bool:
    """Resolves a case, queues a staff correction for review, and hands the
    conversation back to the bot. False when Rasa was unreachable (the worker retries)."""
    case = svc.cases.resolve(case_id, staff, outcome, correct_intent, was_routine)
    if correct_intent or was_routine:
        try:
            text = svc.cases.first_patient_message(case_id)
            if text:
                correction = {"decision": case["decision"], "intent": svc.cases.intent(case),
                              "language": case["language"], "confidence": case["confidence"],
                              "reasons": ["staff_correction"]}
                svc.review.add("staff_correction", text, correction, channel=case["channel"],
                               sender_id=svc.cases.sender_id(case), case_id=case_id,
                               suggested_intent=correct_intent or "routine (intent not given)")
        except Exception as exc:  # noqa: BLE001
            # The correction itself is sealed on the case; the patient must still get the bot back.
            logger.error("case %s: correction not queued for review (%s)", case_id, type(exc).__name__)
    return resume(svc, case, "resolved")


def rasa_url() -> str:
    return os.environ.get(ENV_RASA_URL) or f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}"


def rasa_token() -> Optional[str]:
    token = os.environ.get(ENV_TOKEN)
    if token:
        return token
    try:
        return TOKEN_FILE.read_text().strip() or None
    except FileNotFoundError:
        return None


def resume(svc: Services, case: Mapping[str, Any], reason: str, session=requests) -> bool:
    """Un-pauses the conversation in Rasa. False (and stays pending) when Rasa is unreachable."""
    sender_id = svc.cases.sender_id(case)
    url = f"{rasa_url()}/conversations/{quote(sender_id, safe='')}/tracker/events"
    params = {"token": rasa_token()} if rasa_token() else {}
    try:
        # action_listen closes the turn of any message stored while paused, so the
        # next message starts a clean turn that the rules recognise.
        response = session.post(url, params=params, timeout=(3.05, 10),
                                json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}])
    except (requests.RequestException, OSError) as exc:
        logger.warning("resume of case %s failed: %s", case["id"], type(exc).__name__)
        return False
    if response.status_code >= 300:
        logger.warning("resume of case %s failed: Rasa answered HTTP %s", case["id"], response.status_code)
        return False
    svc.cases.mark_resumed(case["id"], case["channel"], reason)
    outbound.return_thread(case, sender_id, reason)
    return True
