"""Training and deployment without a terminal: what the console's model page (and
`triage models`) does.

- ``start_training`` runs `triage train`'s training and safety gate (training.train with
  ``activate=False``) as a detached background job: one at a time, recorded in the
  ``training_jobs`` table, its progress in models/jobs/<id>.log (progress lines only;
  `rasa train`'s own output goes to models/jobs/<id>.rasa.log, never shown);
- ``activate`` puts a candidate the gate accepted live: models/.current names it,
  models/.previous the model it replaces, and every running Rasa server loads it through
  its HTTP API (PUT /model, token-protected), one server after the other, so the others
  keep answering while one loads;
- ``rollback`` goes back to models/.previous the same way.

Every step is audited. A failed or refused training never touches models/.current.

One training at a time: an flock on models/.train-lock, taken by the console before it
starts the job and inherited by the job process, so it is held exactly as long as that
process lives, whichever console replica started it. A job row still ``running`` while
nobody holds the lock belongs to a process that died: it shows as failed.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import requests
from sqlalchemy import insert, select, update

from triage import db, training
from triage.handback import rasa_token, rasa_url
from triage.model import pointed_model

ENV_PROJECT = "TRIAGE_PROJECT_DIR"
ENV_RASA_URLS = "TRIAGE_RASA_URLS"
ENV_LOCK_FD = "TRIAGE_TRAIN_LOCK_FD"
RUNNING, ACCEPTED, REFUSED, UNCHANGED, FAILED = "running", "accepted", "refused", "unchanged", "failed"
MODEL_NAME = re.compile(r"^triage-[0-9a-f]{12}$")
# Loading our full model takes Rasa tens of seconds on a busy machine: wait for it.
RELOAD_TIMEOUT = (3.05, 600)


class DeployError(RuntimeError):
    """A refusal with a reason an admin can act on (shown on the page, printed by the CLI)."""


def project_dir() -> Path:
    return Path(os.environ.get(ENV_PROJECT) or training.PROJECT_ROOT).resolve()


def rasa_urls() -> List[str]:
    """Every Rasa server to reload: TRIAGE_RASA_URLS (the replicas, comma-separated), else
    TRIAGE_RASA_URL. Behind nginx TRIAGE_RASA_URL reaches one replica at random, so the
    production profile names each replica (scripts/run-prod)."""
    listed = [url.strip().rstrip("/") for url in os.environ.get(ENV_RASA_URLS, "").split(",") if url.strip()]
    return listed or [rasa_url().rstrip("/")]


@dataclass
class Reload:
    model: str
    servers: Dict[str, str] = field(default_factory=dict)  # url -> "ok" or why not

    @property
    def failed(self) -> List[str]:
        return [url for url, result in self.servers.items() if result != "ok"]


class Deployment:
    def __init__(self, audit, project: Optional[Path] = None) -> None:
        self.audit = audit
        self.engine = audit.engine
        self.project = Path(project).resolve() if project else project_dir()
        self.models = self.project / "models"
        self.jobs_dir = self.models / "jobs"

    # -- what there is ---------------------------------------------------------

    def _name(self, path: Optional[Path]) -> Optional[str]:
        return path.name[:-len(".tar.gz")] if path else None

    def serving(self) -> Optional[str]:
        return self._name(pointed_model(self.models))

    def previous(self) -> Optional[str]:
        path = self._pointer(".previous")
        return self._name(path) if path and path.exists() else None

    def _pointer(self, name: str) -> Optional[Path]:
        pointer = self.models / name
        if not pointer.exists():
            return None
        path = Path(pointer.read_text().strip())
        return path if path.is_absolute() else self.project / path

    def report(self, name: str) -> Optional[Dict[str, Any]]:
        if not MODEL_NAME.match(name or ""):
            return None
        path = training.gate_report_path(self.models, name)
        return json.loads(path.read_text()) if path.exists() else None

    def archive(self, name: str) -> Optional[Path]:
        for path in (self.models / "candidates" / f"{name}.tar.gz", self.models / f"{name}.tar.gz"):
            if path.exists():
                return path
        return None

    def candidates(self) -> List[Dict[str, Any]]:
        """Every model with a gate report, newest first: its verdict and whether it can go live."""
        serving = self.serving()
        rows = []
        for path in (self.models / "candidates").glob("triage-*.gate.json"):
            report = json.loads(path.read_text())
            name = report["model"]
            rows.append({"name": name, "verdict": report["verdict"], "problems": len(report["problems"]),
                         "created_at": report["created_at"], "gated_against": report["serving"],
                         "serving": name == serving, "available": self.archive(name) is not None,
                         "activatable": self.refusal(name, report) is None})
        return sorted(rows, key=lambda row: row["created_at"], reverse=True)

    # -- training jobs ---------------------------------------------------------

    @contextmanager
    def _lock(self, name: str, blocking: bool) -> Iterator[Optional[int]]:
        """An flock on models/<name>; yields the descriptor, or None when another process holds it."""
        self.models.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.models / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield None
                return
            yield fd
        finally:
            os.close(fd)

    def _mark_dead_jobs(self) -> None:
        """Runs while holding the training lock: a job still 'running' has no process any more."""
        with self.engine.begin() as connection:
            connection.execute(update(db.training_jobs).where(db.training_jobs.c.state == RUNNING).values(
                state=FAILED, ended_at=db.utcnow(), error="the training process ended without a result"))

    def jobs(self, limit: int = 20) -> List[Dict[str, Any]]:
        with self._lock(".train-lock", blocking=False) as fd:
            if fd is not None:
                self._mark_dead_jobs()
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(db.training_jobs).order_by(db.training_jobs.c.id.desc())
                                      .limit(limit)).mappings().all()
        return [{**row, "started_at": db.aware(row["started_at"]), "ended_at": db.aware(row["ended_at"])}
                for row in rows]

    def job(self, job_id: int) -> Optional[Dict[str, Any]]:
        found = [job for job in self.jobs(limit=1000) if job["id"] == job_id]
        return found[0] if found else None

    def running(self) -> Optional[Dict[str, Any]]:
        return next((job for job in self.jobs(limit=5) if job["state"] == RUNNING), None)

    def progress(self, job_id: int, lines: int = 40) -> List[str]:
        """The last lines of the job's progress log: phases and counts, never message text."""
        path = self.jobs_dir / f"{int(job_id)}.log"
        if not path.exists():
            return []
        return path.read_text(errors="replace").splitlines()[-lines:]

    def start_training(self, actor: str) -> Dict[str, Any]:
        with self._lock(".train-lock", blocking=False) as fd:
            if fd is None:
                self.audit.append("training_started", actor=actor, outcome="refused",
                                  details={"reason": "another training is running"})
                raise DeployError("A training is already running; wait for it to finish.")
            self._mark_dead_jobs()
            with self.engine.begin() as connection:
                job_id = connection.execute(insert(db.training_jobs).values(
                    actor=actor, state=RUNNING, started_at=db.utcnow())).inserted_primary_key[0]
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-m", "triage.deploy", "job", "--id", str(job_id), "--actor", actor,
                       "--project", str(self.project)]
            env = {**os.environ, ENV_LOCK_FD: str(fd), ENV_PROJECT: str(self.project)}
            try:
                with open(self.jobs_dir / f"{job_id}.log", "ab") as log, \
                        open(self.jobs_dir / f"{job_id}.rasa.log", "ab") as rasa_log:
                    # Detached (its own session): the job outlives a console restart. It inherits the
                    # lock's descriptor, so the lock is held for as long as the job runs.
                    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=rasa_log,
                                               pass_fds=(fd,), env=env, cwd=self.project, start_new_session=True)
            except OSError as exc:
                self._finish(job_id, FAILED, error=f"could not start the training ({type(exc).__name__})")
                raise DeployError("The training could not be started; see the server log.") from exc
        self.audit.append("training_started", actor=actor, outcome="ok", details={"job": job_id, "pid": process.pid})
        return {"id": job_id, "pid": process.pid}

    def _finish(self, job_id: int, state: str, model: Optional[str] = None, report_path: Optional[str] = None,
                error: Optional[str] = None) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(db.training_jobs).where(db.training_jobs.c.id == job_id).values(
                state=state, ended_at=db.utcnow(), model=model, report_path=report_path,
                error=(error or "")[:200] or None))

    def run_job(self, job_id: int, actor: str, out) -> str:
        """The job process's work: train, gate, report; the job's row gets the outcome."""
        name = f"triage-{training.fingerprint(self.project)}"
        report = training.gate_report_path(self.models, name)
        try:
            if self.serving() == name:
                out.write(f"==> {name} is already the serving model: nothing new to train\n")
                state, report_path = UNCHANGED, None
            else:
                code = training.train(self.project, out, actor=actor, activate=False,
                                      rasa_log=self.jobs_dir / f"{job_id}.rasa.log")
                state = ACCEPTED if code == 0 else REFUSED
                report_path = str(report.relative_to(self.project))
        except training.TrainingError as exc:
            out.write(f"==> FAILED: {exc}\n")
            self._finish(job_id, FAILED, name, error=str(exc))
            self._audit_finished(job_id, actor, FAILED, name)
            return FAILED
        except Exception as exc:  # noqa: BLE001
            # The type only: an exception's text may quote training data.
            out.write(f"==> FAILED: {type(exc).__name__}\n")
            self._finish(job_id, FAILED, name, error=type(exc).__name__)
            self._audit_finished(job_id, actor, FAILED, name)
            return FAILED
        out.write(f"==> Finished: {state}\n")
        self._finish(job_id, state, name, report_path)
        self._audit_finished(job_id, actor, state, name)
        return state

    def _audit_finished(self, job_id: int, actor: str, state: str, name: str) -> None:
        self.audit.append("training_finished", actor=actor, outcome=state, details={"job": job_id, "model": name})

    # -- going live ------------------------------------------------------------

    def refusal(self, name: str, report: Optional[Dict[str, Any]] = None) -> Optional[str]:
        """Why ``name`` cannot go live, or None when it can."""
        if not MODEL_NAME.match(name or ""):
            return "There is no such model."
        report = report or self.report(name)
        if report is None:
            return "The safety gate has not judged this model; train it first."
        if report["verdict"] != ACCEPTED:
            return "The safety gate refused this model: " + "; ".join(report["problems"])
        if name == self.serving():
            return "This model is already serving."
        if self.archive(name) is None:
            return "The model file is gone; train it again."
        if report["serving"] != self.serving():
            # The gate compared it with another serving model: the margin check is stale.
            return (f"The gate compared this model with {report['serving'] or 'no model'}, but "
                    f"{self.serving() or 'no model'} is serving now; train again to compare them.")
        return None

    def activate(self, name: str, actor: str, session=requests) -> Reload:
        with self._lock(".deploy-lock", blocking=True):
            reason = self.refusal(name)
            if reason:
                self.audit.append("activation_refused", actor=actor, outcome="refused",
                                  details={"model": name if MODEL_NAME.match(name or "") else None, "reason": reason})
                raise DeployError(reason)
            previous = self.serving()
            model = training._activate(self.archive(name), self.models)
            self.audit.append("model_activated", actor=actor, outcome="ok",
                              details={"model": model.name, "previous": f"{previous}.tar.gz" if previous else None,
                                       "forced": False, "via": "deploy"})
        return self.reload(model, actor, session)

    def rollback(self, actor: str, session=requests) -> Reload:
        with self._lock(".deploy-lock", blocking=True):
            target = self._pointer(".previous")
            if target is None or not target.exists():
                self.audit.append("model_rolled_back", actor=actor, outcome="refused",
                                  details={"reason": "no previous model"})
                raise DeployError("There is no previous model to go back to.")
            serving = self.serving()
            training.point(self.models, target)
            os.utime(target)  # Rasa serves the newest archive when none is named
            self.audit.append("model_rolled_back", actor=actor, outcome="ok",
                              details={"model": target.name, "from": f"{serving}.tar.gz" if serving else None})
        return self.reload(target, actor, session)

    def reload(self, model: Path, actor: str, session=requests) -> Reload:
        """Each Rasa server loads ``model``, one after the other. A server that cannot be reached
        keeps its model until it restarts; the result names it."""
        result = Reload(model.name)
        token = rasa_token()
        for url in rasa_urls():
            try:
                response = session.put(f"{url}/model", params={"token": token} if token else {},
                                       json={"model_file": str(model.resolve())}, timeout=RELOAD_TIMEOUT)
                result.servers[url] = "ok" if response.status_code < 300 else f"HTTP {response.status_code}"
            except (requests.RequestException, OSError) as exc:
                result.servers[url] = type(exc).__name__
        self.audit.append("model_reloaded", actor=actor, outcome="ok" if not result.failed else "failed",
                          details={"model": model.name, "servers": result.servers})
        return result


def _job_main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m triage.deploy job")
    parser.add_argument("--id", type=int, required=True)
    parser.add_argument("--actor", required=True)
    parser.add_argument("--project", required=True)
    args = parser.parse_args(argv)
    from triage import services

    deployment = Deployment(services.default().audit, Path(args.project))
    sys.stdout.reconfigure(line_buffering=True)  # progress reaches the page as it happens
    state = deployment.run_job(args.id, args.actor, sys.stdout)
    return 0 if state in (ACCEPTED, UNCHANGED) else training.EXIT_REFUSED if state == REFUSED else 1


if __name__ == "__main__":
    if sys.argv[1:2] != ["job"]:
        print("usage: python -m triage.deploy job --id ID --actor ACTOR --project DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(_job_main(sys.argv[2:]))
