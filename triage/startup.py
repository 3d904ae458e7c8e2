"""Start-up check of the master key, before `make run` / `make run-prod` start anything.

    python -m triage.startup [--dev-keyring PATH]

Sealed data names the master key that wraps it (keys.py: the key id beside each
ciphertext). Every key id found in the triage database, the tracker store
(TRIAGE_ENDPOINTS, default endpoints.yml) and the escalation spool must be in the
keyring, or the run stops here and names the missing ids. Otherwise a moved or lost
keyring looked like a first start: a new development key, old data unreadable and a
returning patient unknown (a second case).

--dev-keyring PATH: `make run` without TRIAGE_MASTER_KEY_FILE / TRIAGE_MASTER_KEY. The
development keyring is created there only when it is missing AND no sealed data exists.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Optional, Set

import sqlalchemy as sa

from triage import keys as keystore

EVENTS_TABLE = "events"  # Rasa's SQLTrackerStore


def _existing_engine(url) -> Optional[sa.engine.Engine]:
    """None for a SQLite file that does not exist yet (connecting would create it)."""
    url = sa.engine.make_url(url)
    if url.get_backend_name() == "sqlite" and (not url.database or not Path(url.database).exists()):
        return None
    return sa.create_engine(url, future=True)


def _distinct(engine: Optional[sa.engine.Engine], table_name: str, column) -> Set[str]:
    if engine is None or not sa.inspect(engine).has_table(table_name):
        return set()
    with engine.connect() as connection:
        return {value for (value,) in connection.execute(sa.select(column).distinct()) if value}


def _triage_db_key_ids() -> Set[str]:
    from triage import db

    engine = _existing_engine(db.url_from_env())
    found: Set[str] = set()
    for table in db.metadata.tables.values():
        if "key_id" in table.c:
            found |= _distinct(engine, table.name, table.c.key_id)
    return found


def _tracker_key_ids() -> Set[str]:
    with warnings.catch_warnings():  # Rasa's imports warn about their own dependencies
        warnings.simplefilter("ignore")
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(os.environ.get("TRIAGE_ENDPOINTS") or "endpoints.yml", "tracker_store")
    if config is None or config.type != "triage.rasa.tracker_store.EncryptedSQLTrackerStore":
        return set()
    options = {k: v for k, v in config.kwargs.items() if k in ("dialect", "port", "db", "username", "password",
                                                                  "login_db", "query")}
    engine = _existing_engine(SQLTrackerStore.get_db_url(host=config.url, **options))
    # The key id sits at a fixed place in every token, "v1.<key id>.": read it in the database.
    data = sa.table(EVENTS_TABLE, sa.column("data")).c.data
    key_id = sa.func.substr(data, len(keystore.VERSION) + 2, keystore.KEY_ID_LENGTH)
    return {kid for kid in _distinct(engine, EVENTS_TABLE, key_id) if kid.startswith("k")}


def _spool_key_ids() -> Set[str]:
    from triage import spool

    folder = spool.directory()
    if not folder.exists():
        return set()
    found = set()
    for path in folder.glob("*.sealed"):
        kid = keystore.KeyStore.key_id_of(path.read_text(encoding="ascii", errors="replace"))
        if kid:
            found.add(kid)
    return found


def sealed_key_ids() -> Set[str]:
    return _triage_db_key_ids() | _tracker_key_ids() | _spool_key_ids()


def check(dev_keyring: Optional[Path] = None) -> Optional[str]:
    """Raises KeyStoreError when sealed data cannot be opened; returns a warning when it
    created the development keyring."""
    in_use = sealed_key_ids()
    try:
        store = keystore.KeyStore.from_env()
    except keystore.KeyStoreError as exc:
        if dev_keyring is not None and not dev_keyring.exists() and not in_use:
            keystore.KeyStore.create_file(dev_keyring)
            return (f"created a local DEVELOPMENT master key at {dev_keyring}.\n"
                    "         In production set TRIAGE_MASTER_KEY_FILE (or TRIAGE_MASTER_KEY) from your secret store.")
        if in_use:
            raise keystore.KeyStoreError(f"{exc}. {keystore.missing_keys_message(sorted(in_use))}") from exc
        raise
    keystore.require_keys(store, in_use)
    return None


def main(argv=None) -> int:
    warnings.simplefilter("ignore", DeprecationWarning)  # SQLAlchemy's, called by Rasa
    parser = argparse.ArgumentParser(prog="python -m triage.startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev-keyring", type=Path, help="create the development keyring here on a first start")
    args = parser.parse_args(argv)
    try:
        warning = check(args.dev_keyring)
    except keystore.KeyStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except sa.exc.OperationalError as exc:
        print(f"error: cannot check the data for its master keys: database unreachable ({exc.orig})", file=sys.stderr)
        return 1
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
