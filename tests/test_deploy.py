"""Training and deployment without a terminal (triage/deploy.py), on a tiny copy of the project
(tests/tiny_project.py: trains in about a minute).

- one training at a time, on SQLite and PostgreSQL: a lock held by another process refuses a
  second start (audited), and a job whose process died shows as failed;
- a real background job on a damaged labelling is refused by the gate: its candidate cannot be
  activated (reason, audit entry), and the serving model stays;
- a real job on one more labelled example is accepted; activating it makes a running assistant
  (scripts/run) load it through Rasa's HTTP API, a message sent during the reload is answered,
  an unreachable server is named in the result; rollback goes back the same way.
"""
import fcntl
import os
import threading
import time

import pytest
import requests

from tests import tiny_project
from tests.servers import Assistant, free_port
from tests.tiny_project import tiny_base  # noqa: F401 (fixture)
from triage import db
from triage.audit import AuditLog
from triage.deploy import ACCEPTED, FAILED, REFUSED, RUNNING, DeployError, Deployment

ROUTINE_QUESTION = "till when are you open on mondays"  # in the tiny held-out split


@pytest.fixture
def project(tiny_base, tmp_path):  # noqa: F811
    return tiny_project.copy(tiny_base, tmp_path / "project")


@pytest.fixture
def deployment(project, keystore, tmp_path, monkeypatch):
    """The library over a SQLite database; its background jobs get the same database and keyring."""
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    monkeypatch.setenv("TRIAGE_DB_URL", url)
    monkeypatch.setenv("TRIAGE_MASTER_KEY_FILE", str(tmp_path / "keys" / "master.json"))
    monkeypatch.setenv("TRIAGE_MODEL_CACHE", str(tmp_path / "cache"))  # nothing restored: trained for real
    return Deployment(AuditLog(keystore, db.engine(url)), project)


def events(audit, *names):
    return [(row["event"], row["actor"], row["outcome"]) for row in audit.rows() if row["event"] in names]


def serving(project):
    return (project / "models" / ".current").read_text().strip()


def test_one_training_at_a_time_and_a_dead_job_shows_failed(db_url, keystore, tmp_path):
    project = tmp_path / "empty-project"
    deployment = Deployment(AuditLog(keystore, db.engine(db_url)), project)
    with deployment.engine.begin() as connection:
        connection.execute(db.training_jobs.insert().values(actor="admin:ana", state=RUNNING, started_at=db.utcnow()))
    # Another console replica's job holds the lock: the row stays running and nobody starts a second one.
    (project / "models").mkdir(parents=True)
    fd = os.open(project / "models" / ".train-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert deployment.running()["actor"] == "admin:ana"
        with pytest.raises(DeployError, match="already running"):
            deployment.start_training("admin:ben")
    finally:
        os.close(fd)
    assert events(deployment.audit, "training_started") == [("training_started", "admin:ben", "refused")]
    # Its process is gone (the lock is free): the job failed, and it no longer blocks anyone.
    [job] = deployment.jobs()
    assert job["state"] == FAILED and "without a result" in job["error"] and job["ended_at"] is not None
    assert deployment.running() is None


def test_a_refused_candidate_cannot_be_activated(deployment, project, tiny_base):  # noqa: F811
    tiny_project.damage(project)
    first = serving(project)
    job = deployment.start_training("admin:ana")
    with pytest.raises(DeployError, match="already running"):
        deployment.start_training("admin:ben")  # one at a time, with a real job running
    finished = tiny_project.wait_for_job(deployment, job["id"])
    progress = "\n".join(deployment.progress(job["id"]))
    assert finished["state"] == REFUSED, progress
    assert "Trained" in progress and "REFUSED" in progress and "Finished: refused" in progress
    assert ROUTINE_QUESTION not in progress  # figures and phases, never held-out or training text

    name = finished["model"]
    report = deployment.report(name)
    assert report["verdict"] == "refused" and report["serving"] == first.split("/")[-1][:-len(".tar.gz")]
    assert any("over_escalation" in problem for problem in report["problems"])
    failed = [c for c in report["checks"] if not c["passed"]]
    assert {c["figure"] for c in failed} >= {"over_escalation", "routine_accuracy"}
    # The mislabelled opening-hours questions now escalate: the confusion matrix shows where they went.
    assert report["candidate"]["confusion"]["decisions"]["answer"]["private"] >= 4
    assert report["serving_model"]["confusion"]["decisions"]["answer"]["answer"] == 16
    [row] = [c for c in deployment.candidates() if c["name"] == name]
    assert row["verdict"] == "refused" and not row["activatable"]

    with pytest.raises(DeployError, match="safety gate refused"):
        deployment.activate(name, "admin:ana")
    assert serving(project) == first
    assert not (project / "models" / f"{name}.tar.gz").exists()  # never moved next to the serving model
    assert ("activation_refused", "admin:ana", "refused") in events(deployment.audit, "activation_refused")
    assert events(deployment.audit, "training_started", "model_refused", "training_finished") == [
        ("training_started", "admin:ana", "ok"), ("training_started", "admin:ben", "refused"),
        ("model_refused", "admin:ana", "refused"), ("training_finished", "admin:ana", "refused")]
    assert deployment.audit.verify().ok


def test_activation_reloads_the_running_assistant_and_rollback(deployment, project, tiny_base, tmp_path,  # noqa: F811
                                                               monkeypatch):
    first = serving(project)
    tiny_project.label(project, "ask_opening_hours", "is the clinic open on the first of may")
    finished = tiny_project.wait_for_job(deployment, deployment.start_training("admin:ana")["id"])
    assert finished["state"] == ACCEPTED, "\n".join(deployment.progress(finished["id"]))
    name = finished["model"]
    assert serving(project) == first  # accepted is not live: an admin activates it
    report = deployment.report(name)
    assert report["verdict"] == "accepted" and all(c["passed"] for c in report["checks"])
    assert {(c["figure"], c["language"]) for c in report["checks"]} >= {("crisis_recall", "en"), ("crisis_recall", "all")}
    assert report["candidate"]["confusion"]["decisions"]["crisis"]["crisis"] == 8

    workdir = tmp_path / "assistant"
    workdir.mkdir()
    bot = Assistant(workdir, {"TRIAGE_MODEL": str(project / first)}).start()
    try:
        token = bot.env["RASA_AUTH_TOKEN"]
        status = lambda: requests.get(f"{bot.url}/status", params={"token": token}, timeout=30).json()  # noqa: E731
        assert status()["model_file"] == first.split("/")[-1]
        unreachable = f"http://127.0.0.1:{free_port()}"
        monkeypatch.setenv("RASA_AUTH_TOKEN", token)
        monkeypatch.setenv("TRIAGE_RASA_URLS", f"{bot.url},{unreachable}")

        during = {}

        class SendWhileLoading:
            """requests, but a patient writes while the model loads."""

            @staticmethod
            def put(url, *args, **kwargs):
                if not url.startswith(bot.url):
                    return requests.put(url, *args, **kwargs)
                args = (url, *args)
                loading = threading.Thread(target=lambda: during.update(put=requests.put(*args, **kwargs),
                                                                        put_done=time.time()))
                loading.start()
                time.sleep(0.5)
                during["sent"] = time.time()
                during["reply"] = bot.send(ROUTINE_QUESTION, sender="during-reload")
                loading.join()
                return during["put"]

        result = deployment.activate(name, "admin:ana", session=SendWhileLoading)
        assert result.servers[bot.url] == "ok" and result.failed == [unreachable]
        assert during["sent"] < during["put_done"]  # the message really arrived while the server loaded
        assert during["reply"].status_code == 200 and "Opening hours" in during["reply"].text
        assert status()["model_file"] == f"{name}.tar.gz"
        assert serving(project) == f"models/{name}.tar.gz"
        assert (project / "models" / ".previous").read_text().strip() == first
        assert "Opening hours" in bot.reply(ROUTINE_QUESTION, sender="after-reload")

        with pytest.raises(DeployError, match="already serving"):
            deployment.activate(name, "admin:ana")
        monkeypatch.setenv("TRIAGE_RASA_URLS", bot.url)
        back = deployment.rollback("admin:ben")
        assert back.failed == [] and status()["model_file"] == first.split("/")[-1]
        assert serving(project) == first
        assert (project / "models" / ".previous").read_text().strip() == f"models/{name}.tar.gz"
        assert "Opening hours" in bot.reply(ROUTINE_QUESTION, sender="after-rollback")
    finally:
        bot.stop()
    assert events(deployment.audit, "model_activated", "model_reloaded", "model_rolled_back") == [
        ("model_activated", "admin:ana", "ok"), ("model_reloaded", "admin:ana", "failed"),
        ("model_rolled_back", "admin:ben", "ok"), ("model_reloaded", "admin:ben", "ok")]
    assert deployment.audit.verify().ok


def test_the_models_page_is_for_admins_and_refuses_what_the_gate_did_not_accept(tmp_path):
    from tests.test_console import Console

    project = tmp_path / "project"
    (project / "models" / "candidates").mkdir(parents=True)
    console = Console(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}", TRIAGE_PROJECT_DIR=str(project)).start()
    try:
        staff = console.client("nurse.kim", "staff")
        for path in ("/models", "/models/triage-0123456789ab/report"):
            assert staff.get(path).status_code == 403, path
        assert staff.post("/models/train").status_code == 403
        assert staff.post("/models/rollback").status_code == 403
        admin = console.client("ana", "admin")
        page = admin.get("/models")
        assert page.status_code == 200 and 'id="start-training"' in page.text
        assert "script" not in page.text.replace('<script src="/static/console.js" defer></script>', "")
        # Neither a model the gate never judged, nor a name that is a path, nor a missing CSRF token.
        assert admin.post("/models/triage-0123456789ab/activate").status_code == 409
        assert admin.post("/models/..%2F..%2Fetc/activate").status_code == 409  # "There is no such model."
        assert admin.post("/models/triage-0123456789ab/activate", csrf=False).status_code == 403
        assert admin.post("/models/rollback").status_code == 409  # nothing to go back to
        assert admin.get("/models/triage-0123456789ab/report").status_code == 404
        refused = [(e["event"], e["outcome"]) for e in console.audit.rows()
                   if e["event"] in ("activation_refused", "model_rolled_back")]
        assert refused == [("activation_refused", "refused"), ("activation_refused", "refused"),
                           ("model_rolled_back", "refused")]
    finally:
        console.stop()
