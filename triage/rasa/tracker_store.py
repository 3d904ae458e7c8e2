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
      type: triage.rasa.tracker_store.EncryptedSQLTrackerStore
      dialect: sqlite          # or postgresql, with url/port/username/password
      db: var/tracker.db
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import threading
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from triage import keys as keystore

logger = logging.getLogger(__name__)

_instances: List["EncryptedSQLTrackerStore"] = []
_STORED = "_triage_events_stored"  # set on a tracker by _retrieve and save


class PlaintextCache:
    """Each conversation's decrypted events, by their sealed token, in this process's memory only.

    Rasa reads a conversation back on every turn; without this, every event of it is
    decrypted again on every turn. Entries are keyed by the stored token itself, and a
    read keeps only the tokens still stored, so a row deleted or altered by another
    process (forget-me, retention, tampering) is never served from here. The least
    recently used conversations are dropped beyond ``max_events`` events in all.
    """

    def __init__(self, max_events: int = 50_000) -> None:
        self.max_events = max_events
        self._conversations: "OrderedDict[str, Dict[str, str]]" = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, ref: str) -> Dict[str, str]:
        with self._lock:
            return dict(self._conversations.get(ref) or {})

    def put(self, ref: str, entries: Dict[str, str]) -> None:
        with self._lock:
            self._size -= len(self._conversations.pop(ref, {}))
            self._conversations[ref] = entries
            self._size += len(entries)
            while self._size > self.max_events and len(self._conversations) > 1:
                _, dropped = self._conversations.popitem(last=False)
                self._size -= len(dropped)

    def add(self, ref: str, token: str, plaintext: str) -> None:
        with self._lock:
            if ref in self._conversations:
                self._conversations[ref][token] = plaintext
                self._size += 1

    def drop(self, ref: Optional[str] = None) -> None:
        with self._lock:
            if ref is None:
                self._conversations.clear()
                self._size = 0
            else:
                self._size -= len(self._conversations.pop(ref, {}))


class EncryptedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain=None, host: Optional[Text] = None, dialect: Text = "sqlite", db: Text = "rasa.db",
                 keys: Optional[keystore.KeyStore] = None, **kwargs: Any) -> None:
        # Fail at start-up, not on the first patient message, when there is no key.
        self.keys = keys or keystore.default()
        kwargs.pop("url", None)
        super().__init__(domain=domain, dialect=dialect, host=host, db=db, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._keep_sqlite_connections()
        self.plaintexts = PlaintextCache()
        self._statements()
        _instances.append(self)

    def _keep_sqlite_connections(self) -> None:
        """SQLAlchemy 1.4 opens and closes a SQLite file connection per use, and closing the
        last one checkpoints the log to disk: on every turn. A small pool keeps them open;
        the write-ahead log then costs one fsync per saved turn instead of three."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=4,
                                       connect_args={"check_same_thread": False, "timeout": 30})
        self.sessionmaker.configure(bind=self.engine)
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")

    def _statements(self) -> None:
        """Rasa's event queries, built once. Rebuilding them (ORM, subquery) on every turn cost
        more CPU than running them. Same rows: the latest session's events, in id order."""
        table, ref = self.SQLEvent.__table__, sa.bindparam("ref")
        session_start = (sa.select(sa.func.max(table.c.timestamp))
                         .where(table.c.sender_id == ref, table.c.type_name == SessionStarted.type_name)
                         .scalar_subquery())
        in_session = sa.and_(table.c.sender_id == ref,
                             sa.or_(table.c.timestamp >= session_start, session_start.is_(None)))
        self._select_session = sa.select(table.c.data).where(in_session).order_by(table.c.id)
        self._select_all = sa.select(table.c.data).where(table.c.sender_id == ref).order_by(table.c.id)
        self._count_session = sa.select(sa.func.count()).select_from(table).where(in_session)
        self._insert = table.insert()

    def conversation_ref(self, sender_id: Text) -> Text:
        return self.keys.pseudonym("conversation", sender_id)

    def _event_query(self, session, sender_id: Text, fetch_events_from_all_sessions: bool):
        return super()._event_query(session, self.conversation_ref(sender_id), fetch_events_from_all_sessions)

    async def keys(self) -> Iterable[Text]:  # type: ignore[override]
        """Conversation references (keyed hashes); raw ids are not stored."""
        with self.session_scope() as session:
            return [ref for (ref,) in session.query(self.SQLEvent.sender_id).distinct().all()]

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        ref = self.conversation_ref(sender_id)
        known = self.plaintexts.get(ref)
        query = self._select_all if fetch_events_from_all_sessions else self._select_session
        with self.engine.connect() as connection:
            current = {token: known.get(token) or self.keys.open(token, aad=ref)
                       for token in connection.execute(query, {"ref": ref}).scalars()}
        if not fetch_events_from_all_sessions:
            self.plaintexts.put(ref, current)  # exactly what is stored now, nothing older
        events = [json.loads(text) for text in current.values()]
        if self.domain and events:
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
            if not fetch_events_from_all_sessions:
                setattr(tracker, _STORED, len(events))
            return tracker
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        ref = self.conversation_ref(tracker.sender_id)
        # How many of the tracker's events are stored already: known from the read this turn
        # (the conversation lock keeps it true), counted only for a tracker built elsewhere.
        stored = getattr(tracker, _STORED, None)
        with self.engine.begin() as connection:
            if stored is None:
                stored = connection.execute(self._count_session, {"ref": ref}).scalar_one()
            rows, sealed = [], []
            for event in itertools.islice(tracker.events, stored, len(tracker.events)):
                data = event.as_dict()
                plaintext = json.dumps(data)
                token = self.keys.seal(plaintext, aad=ref).token
                rows.append({"sender_id": ref, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                             "intent_name": None, "action_name": None, "data": token})
                sealed.append((token, plaintext))
            if rows:
                connection.execute(self._insert, rows)
        for token, plaintext in sealed:
            self.plaintexts.add(ref, token, plaintext)
        setattr(tracker, _STORED, len(tracker.events))

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
        self.plaintexts.drop(self.conversation_ref(sender_id))
        with self.engine.begin() as connection:
            return connection.execute(table.delete().where(table.c.sender_id == self.conversation_ref(sender_id))).rowcount

    def purge_older_than(self, days: int, now: Optional[dt.datetime] = None) -> int:
        """Deletes whole conversations whose last event is older than ``days``."""
        cutoff = ((now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=days)).timestamp()
        table = self.SQLEvent.__table__
        self.plaintexts.drop()
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
