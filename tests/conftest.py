import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Escalations spooled by tests (the database-down paths) never land in the checkout's var/.
os.environ.setdefault("TRIAGE_SPOOL_DIR", tempfile.mkdtemp(prefix="triage-test-spool-"))


@pytest.fixture(scope="session")
def parser():
    """The trained model, loaded once, through the same path as `triage classify`."""
    from triage.model import Parser

    return Parser()


PG_ADMIN_URL = os.environ.get("TRIAGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database on the machine's real server, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"triage_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the production path must be tested, not skipped
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is needed for this test: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    from triage import db

    db.dispose_all()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_pg(url: str) -> str:
    """Drops the tracker table and our tables, so a test starts on an empty database."""
    from sqlalchemy import create_engine, text

    from triage import db

    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS events"))
    db.metadata.drop_all(engine)
    engine.dispose()
    db.dispose_all()
    return url


@pytest.fixture
def keystore(tmp_path):
    from triage.keys import KeyStore

    return KeyStore.create_file(tmp_path / "keys" / "master.json")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Each store test runs on the embedded default and on the production database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'triage.db'}"
    return empty_pg(request.getfixturevalue("pg_url"))  # each test starts empty


@pytest.fixture
def make_services(keystore):
    """Builds the service container over the database at ``url`` with the test keyring; ``targets`` are
    the staff webhooks (none: notices wait in the outbox)."""
    from triage import db
    from triage.audit import AuditLog
    from triage.cases import Cases
    from triage.notify import Notifier
    from triage.services import Services

    def make(url: str, targets=()) -> Services:
        audit = AuditLog(keystore, db.engine(url))
        return Services(keystore, audit, Cases(keystore, audit), Notifier(audit, list(targets)))

    return make


@pytest.fixture
def svc(make_services, keystore, tmp_path, monkeypatch):
    """The process's services for one test: a temporary SQLite database, the test keyring and a spool
    folder of its own, so that whatever the code under test escalates or spools stays in tmp_path."""
    from triage import keys, spool

    services = make_services(f"sqlite:///{tmp_path / 'triage.db'}")
    monkeypatch.setattr("triage.services.default", lambda: services)
    monkeypatch.setattr(keys, "_default", keystore)  # the spool seals with it
    monkeypatch.setenv(spool.ENV_DIR, str(tmp_path / "spool"))
    return services


def _recorder():
    from tests.fakes import Recorder

    recorder = Recorder().start()
    yield recorder
    recorder.stop()


@pytest.fixture(scope="module")
def api():
    """The recording fake Graph and X APIs, one per module: a server test's Rasa server is given its URL once."""
    yield from _recorder()


@pytest.fixture
def webhook():
    """A recording staff webhook, one per test."""
    yield from _recorder()
