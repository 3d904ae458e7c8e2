"""The start-up key check (triage/startup.py, run by scripts/lib.sh triage_env).

Before, with the keyring moved away `make run` printed a WARNING, created a NEW
development key and started: old data unreadable, a returning patient got a second case."""
import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from tests.servers import ROOT, Assistant
from triage import db, spool, startup
from triage.audit import AuditLog
from triage.cases import Cases
from triage.keys import KeyStore, KeyStoreError

TRIAGE = {"decision": "private", "intent": "disclose_symptom", "confidence": 0.9, "language": "en"}


@pytest.fixture
def place(tmp_path, monkeypatch):
    """An empty installation: its own database, tracker store and spool."""
    (tmp_path / "endpoints.yml").write_text(
        "tracker_store:\n  type: triage.rasa.tracker_store.EncryptedSQLTrackerStore\n  dialect: sqlite\n"
        f"  db: {tmp_path / 'tracker.db'}\n")
    env = {"TRIAGE_DB_URL": f"sqlite:///{tmp_path / 'triage.db'}", "TRIAGE_ENDPOINTS": str(tmp_path / "endpoints.yml"),
           "TRIAGE_SPOOL_DIR": str(tmp_path / "spool")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("TRIAGE_MASTER_KEY_FILE", "TRIAGE_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def seal_a_case(keys, url):
    engine = db.engine(url)
    Cases(keys, AuditLog(keys, engine), engine=engine).open_case("rest", "patient-1", TRIAGE, "my chest hurts")


def seal_a_conversation(keys, path):
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from triage.rasa.tracker_store import EncryptedSQLTrackerStore

    store = EncryptedSQLTrackerStore(dialect="sqlite", db=str(path), keys=keys)
    asyncio.run(store.save(DialogueStateTracker.from_events("patient-1", [UserUttered("my chest hurts")])))


@pytest.mark.parametrize("source", ["triage_db", "tracker", "spool"])
def test_sealed_data_with_a_missing_key_refuses_and_names_it(place, monkeypatch, source):
    old = KeyStore.create_file(place / "old.json")
    if source == "triage_db":
        seal_a_case(old, os.environ["TRIAGE_DB_URL"])
    elif source == "tracker":
        seal_a_conversation(old, place / "tracker.db")
    else:
        spool.put("patient-1", "rest", TRIAGE, "my chest hurts", keys=old)
    assert startup.sealed_key_ids() == {old.active}

    monkeypatch.setenv("TRIAGE_MASTER_KEY_FILE", str(place / "old.json"))
    assert startup.check() is None  # the right keyring: fine

    other = KeyStore.create_file(place / "other.json")
    monkeypatch.setenv("TRIAGE_MASTER_KEY_FILE", str(place / "other.json"))
    with pytest.raises(KeyStoreError, match=old.active):
        startup.check()

    (place / "old.json").rename(place / "moved.json")  # the development case: no keyring at all
    monkeypatch.setenv("TRIAGE_MASTER_KEY_FILE", str(place / "old.json"))
    with pytest.raises(KeyStoreError, match=old.active):
        startup.check(dev_keyring=place / "old.json")
    assert not (place / "old.json").exists(), "no new development key over existing data"
    assert other.active != old.active


def test_first_start_creates_the_development_keyring(place, monkeypatch):
    monkeypatch.setenv("TRIAGE_MASTER_KEY_FILE", str(place / "keys" / "dev.json"))
    assert "DEVELOPMENT" in startup.check(dev_keyring=place / "keys" / "dev.json")
    assert KeyStore.load_file(place / "keys" / "dev.json").key_ids


def triage_env(workdir: Path):
    """scripts/lib.sh triage_env as `make run` calls it, in a project directory of its own
    (the database, tracker store and spool of the `place` fixture)."""
    if not (workdir / ".venv").exists():
        (workdir / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if k not in ("TRIAGE_MASTER_KEY_FILE", "TRIAGE_MASTER_KEY")}
    env["PYTHONPATH"] = str(ROOT)
    script = f'set -euo pipefail; source "{ROOT}/scripts/lib.sh"; triage_env; echo "keyring=$TRIAGE_MASTER_KEY_FILE"'
    return subprocess.run(["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)


def test_make_run_without_its_development_key_refuses_over_existing_data(place):
    project = place / "project"
    project.mkdir()
    first = triage_env(project)
    assert first.returncode == 0, first.stderr
    dev = project / "var" / "keys" / "dev-master.json"
    assert f"keyring={dev}" in first.stdout and "DEVELOPMENT master key" in first.stderr
    keys = KeyStore.load_file(dev)
    seal_a_case(keys, os.environ["TRIAGE_DB_URL"])
    assert triage_env(project).returncode == 0  # the same key: starts

    dev.rename(project / "elsewhere.json")
    refused = triage_env(project)
    assert refused.returncode != 0
    assert keys.active in refused.stderr and "Not starting" in refused.stderr
    assert "keyring=" not in refused.stdout
    assert not dev.exists(), "a new development key was created over sealed data"


def test_scripts_run_refuses_before_starting_anything(tmp_path):
    bot = Assistant(tmp_path)
    seal_a_case(KeyStore.load_file(Path(bot.env["TRIAGE_MASTER_KEY_FILE"])), bot.env["TRIAGE_DB_URL"])
    kid = KeyStore.load_file(Path(bot.env["TRIAGE_MASTER_KEY_FILE"])).active
    Path(bot.env["TRIAGE_MASTER_KEY_FILE"]).rename(tmp_path / "moved.json")
    result = subprocess.run([str(ROOT / "scripts" / "run")], cwd=ROOT, env=bot.env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert kid in result.stderr
    assert "==> Starting" not in result.stdout
