"""EncryptedSQLTrackerStore: Rasa's SQLTrackerStore with nothing readable at rest.

Stock SQLTrackerStore writes every event as plaintext JSON (`data`) plus the
intent and action names in their own columns, keyed by the raw channel user id.
Here, in the same `events` table:
- `data` is sealed with the key store (AES-256-GCM envelope, key id inside),
  bound to the conversation so rows cannot be moved between conversations;
- `sender_id` is a keyed HMAC of the conversation id (indexed lookups still work);
- `intent_name` and `action_name` stay empty (an intent name such as
  disclose_mental_health is itself PHI); `type_name` and `timestamp` stay, since
  Rasa needs them to find the latest session.
Rasa reads conversations back transparently through `_retrieve`.

endpoints.yml:
    tracker_store:
      type: triage.tracker_store.EncryptedSQLTrackerStore
      dialect: sqlite          # or postgresql, with url/port/username/password
      db: var/tracker.db
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Dict, Iterable, Iterator, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from triage import keys as keystore

logger = logging.getLogger(__name__)

_instances: List["EncryptedSQLTrackerStore"] = []


class EncryptedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain=None, host: Optional[Text] = None, dialect: Text = "sqlite", db: Text = "rasa.db",
                 keys: Optional[keystore.KeyStore] = None, **kwargs: Any) -> None:
        # Fail at start-up, not on the first patient message, when there is no key.
        self.keys = keys or keystore.default()
        kwargs.pop("url", None)
        super().__init__(domain=domain, dialect=dialect, host=host, db=db, **kwargs)
        _instances.append(self)

    def conversation_ref(self, sender_id: Text) -> Text:
        return self.keys.pseudonym("conversation", sender_id)

    def _event_query(self, session, sender_id: Text, fetch_events_from_all_sessions: bool):
        return super()._event_query(session, self.conversation_ref(sender_id), fetch_events_from_all_sessions)

    async def keys(self) -> Iterable[Text]:  # type: ignore[override]
        """Conversation references (keyed hashes); raw ids are not stored."""
        with self.session_scope() as session:
            return [ref for (ref,) in session.query(self.SQLEvent.sender_id).distinct().all()]

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        aad = self.conversation_ref(sender_id)
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions).all()
            events = [json.loads(self.keys.open(row.data, aad=aad)) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        ref = self.conversation_ref(tracker.sender_id)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                session.add(self.SQLEvent(
                    sender_id=ref, type_name=event.type_name, timestamp=data.get("timestamp"),
                    intent_name=None, action_name=None,
                    data=self.keys.seal(json.dumps(data), aad=ref).token,
                ))
            session.commit()

    # -- maintenance: rotation, retention, forget-me --------------------------

    def rewrap_all(self) -> int:
        changed = 0
        with self.engine.begin() as connection:
            table = self.SQLEvent.__table__
            for row in connection.execute(sa.select(table.c.id, table.c.data)).all():
                if keystore.KeyStore.key_id_of(row.data) != self.keys.active:
                    connection.execute(table.update().where(table.c.id == row.id)
                                       .values(data=self.keys.rewrap(row.data).token))
                    changed += 1
        return changed

    def forget(self, sender_id: Text) -> int:
        table = self.SQLEvent.__table__
        with self.engine.begin() as connection:
            return connection.execute(table.delete().where(table.c.sender_id == self.conversation_ref(sender_id))).rowcount

    def purge_older_than(self, days: int, now: Optional[dt.datetime] = None) -> int:
        """Deletes whole conversations whose last event is older than ``days``."""
        cutoff = ((now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=days)).timestamp()
        table = self.SQLEvent.__table__
        with self.engine.begin() as connection:
            stale = [ref for (ref,) in connection.execute(
                sa.select(table.c.sender_id).group_by(table.c.sender_id)
                .having(sa.func.max(table.c.timestamp) < cutoff)).all()]
            deleted = 0
            for start in range(0, len(stale), 500):
                deleted += connection.execute(table.delete().where(table.c.sender_id.in_(stale[start:start + 500]))).rowcount
        return deleted


def from_endpoints(path: Optional[str] = None) -> Optional[EncryptedSQLTrackerStore]:
    """The tracker store endpoints.yml configures, when it is ours (for the CLI)."""
    import os

    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    if _instances:
        return _instances[-1]
    config = read_endpoint_config(path or os.environ.get("TRIAGE_ENDPOINTS") or "endpoints.yml", "tracker_store")
    if config is None or config.type != f"{__name__}.EncryptedSQLTrackerStore":
        return None
    store = TrackerStore.create(config)
    return getattr(store, "_tracker_store", store)  # unwrap Rasa's AwaitableTrackerStore
