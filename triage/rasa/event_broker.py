"""PhiFreePikaEventBroker: Rasa's RabbitMQ event broker, publishing no PHI.

Rasa's broker publishes every tracker event as stored: the patient's text, the
parse data (intent names such as disclose_mental_health are themselves PHI),
slot values, metadata and the raw channel user id. An analytics consumer needs
none of that. Each event is rebuilt here from an allow-list:

- every event: its type, timestamp, and a keyed pseudonym of the conversation
  (not the one the tracker store uses, so analytics rows cannot be joined to it);
- user messages: the triage decision (answer / private / crisis), the language
  and the input channel; never text, intent, entities or metadata;
- actions: the action name; slots: the slot name, never its value;
- bot messages and everything else: nothing more.

endpoints.yml (optional; see docs/production.md):
    event_broker:
      type: triage.rasa.event_broker.PhiFreePikaEventBroker
      url: localhost
      username: guest
      password: guest
      queues: [triage_events]
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.brokers.pika import PikaEventBroker

from triage import DECISIONS
from triage import keys as keystore


def phi_free(event: Dict[Text, Any], keys: keystore.KeyStore) -> Dict[Text, Any]:
    kind = event.get("event")
    safe: Dict[Text, Any] = {"event": kind, "timestamp": event.get("timestamp"),
                             "conversation": keys.pseudonym("analytics", str(event.get("sender_id", "")))}
    if kind == "user":
        triage = (event.get("parse_data") or {}).get("triage") or {}
        if triage.get("decision") in DECISIONS:
            safe["decision"] = triage["decision"]
        if isinstance(triage.get("language"), str) and len(triage["language"]) <= 8:
            safe["language"] = triage["language"]
        safe["input_channel"] = event.get("input_channel")
    elif kind == "action":
        safe["name"] = event.get("name")
    elif kind == "slot":
        safe["name"] = event.get("name")
    return safe


class PhiFreePikaEventBroker(PikaEventBroker):
    def __init__(self, *args: Any, keys: Optional[keystore.KeyStore] = None, **kwargs: Any) -> None:
        # Fail at start-up, not on the first event, when there is no key.
        self.keys = keys or keystore.default()
        super().__init__(*args, **kwargs)

    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        super().publish(phi_free(event, self.keys), headers)
