"""triage/serve.py and the files that start the servers: secrets never on a command line,
localhost binds by default, the action token wherever an action endpoint is configured."""
import re

import pytest
import yaml

from tests.servers import ROOT
from triage import serve

STARTERS = [ROOT / "scripts" / name for name in ("run", "run-prod", "shell", "lib.sh")] + [
    ROOT / "docker" / name for name in ("docker-compose.yml", "Dockerfile.rasa", "Dockerfile.actions")]


@pytest.mark.parametrize("path", STARTERS, ids=lambda p: p.name)
def test_no_secret_option_in_any_start_command(path):
    text = path.read_text()
    assert "--auth-token" not in text and "--jwt-secret" not in text
    assert "rasa run" not in text, "Rasa starts through triage/serve.py"


def test_rasa_gets_the_token_and_localhost_inside_the_process(monkeypatch):
    monkeypatch.setenv("RASA_AUTH_TOKEN", "s3cret-token")
    monkeypatch.delenv("RASA_HOST", raising=False)
    argv = serve.rasa_argv("run", ["--port", "5005", "--enable-api"])
    assert argv[:2] == ["rasa", "run"]
    assert argv[argv.index("--interface") + 1] == "127.0.0.1"
    assert argv[argv.index("--auth-token") + 1] == "s3cret-token"
    monkeypatch.setenv("RASA_HOST", "0.0.0.0")
    assert "0.0.0.0" in serve.rasa_argv("run", [])
    assert "--auth-token" not in serve.rasa_argv("shell", [])  # the shell serves no API


@pytest.mark.parametrize("option", ["--auth-token", "-t", "--auth-token=x", "--jwt-secret"])
def test_a_secret_on_the_command_line_is_refused(monkeypatch, option):
    monkeypatch.setenv("RASA_AUTH_TOKEN", "s3cret-token")
    with pytest.raises(serve.ServeError, match="command line"):
        serve.rasa_argv("run", ["--port", "5005", option, "x"])


def test_no_token_no_server(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("TRIAGE_ACTION_TOKEN", raising=False)
    monkeypatch.setattr("triage.handback.TOKEN_FILE", tmp_path / "none")
    monkeypatch.setattr(serve, "ACTION_TOKEN_FILE", tmp_path / "none")
    assert serve.main(["rasa", "--enable-api"]) == 1
    assert serve.main(["actions", "--port", "1"]) == 1
    assert "RASA_AUTH_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["endpoints.yml", "endpoints.prod.yml"])
def test_rasa_sends_the_action_token(name):
    endpoints = yaml.safe_load((ROOT / name).read_text())
    assert endpoints["action_endpoint"]["token"] == "${TRIAGE_ACTION_TOKEN}"


def test_containers_start_through_serve_with_the_tokens_from_the_environment():
    compose = yaml.safe_load((ROOT / "docker" / "docker-compose.yml").read_text())
    for name in ("rasa-1", "actions"):
        env = compose["services"][name]["environment"]
        assert env["TRIAGE_ACTION_TOKEN"].startswith("${TRIAGE_ACTION_TOKEN")
    # only nginx publishes a port
    assert [name for name, service in compose["services"].items() if service.get("ports")] == ["nginx"]
    for dockerfile, command in (("Dockerfile.rasa", "rasa"), ("Dockerfile.actions", "actions")):
        text = (ROOT / "docker" / dockerfile).read_text()
        assert 'ENTRYPOINT ["python", "-m", "triage.serve"]' in text
        assert re.search(rf'^CMD \["{command}"', text, re.M)
    for name in ("rasa-values.yaml", "action-server-values.yaml"):
        assert "TRIAGE_ACTION_TOKEN" in (ROOT / "docker" / "helm" / name).read_text()


def test_the_model_pointer_is_read_at_each_start(monkeypatch, tmp_path):
    # The supervisor restarts Rasa with the same command line: after an activation from the
    # console, a restarted server must load the activated model, not the first one.
    monkeypatch.setenv("RASA_AUTH_TOKEN", "s3cret-token")
    models = tmp_path / "models"
    models.mkdir()
    for name in ("triage-old.tar.gz", "triage-new.tar.gz"):
        (models / name).write_bytes(b"x")
    pointer = models / ".current"
    pointer.write_text("models/triage-old.tar.gz\n")
    first = serve.rasa_argv("run", ["--model", str(pointer)])
    assert first[first.index("--model") + 1] == str(models / "triage-old.tar.gz")
    pointer.write_text("models/triage-new.tar.gz\n")
    again = serve.rasa_argv("run", ["--model", str(pointer)])
    assert again[again.index("--model") + 1] == str(models / "triage-new.tar.gz")
    pointer.write_text("models/gone.tar.gz\n")
    with pytest.raises(serve.ServeError, match="names no existing model"):
        serve.rasa_argv("run", ["--model", str(pointer)])
    named = serve.rasa_argv("run", ["--model", str(models / "triage-old.tar.gz")])
    assert named[named.index("--model") + 1] == str(models / "triage-old.tar.gz")
