"""docker/ cannot be run here (no Docker engine); check what can be checked."""
import re
import subprocess
from pathlib import Path

import yaml

from tests.servers import ROOT

DOCKER = ROOT / "docker"


def test_compose_parses_and_has_the_topology():
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "rasa-1", "rasa-2", "actions", "nginx", "worker"} <= set(services)
    for name in ("rasa-1", "rasa-2", "actions", "worker"):
        assert "master_key" in services[name]["secrets"]
        env = services[name]["environment"]
        assert env["TRIAGE_MASTER_KEY_FILE"].startswith("/run/secrets/")
        assert env["LOG_LEVEL"] == "INFO" and env["RASA_TELEMETRY_ENABLED"] == "false"
        # whoever spools an escalation (replicas, actions) and the worker that records it share one folder
        assert f"spool:{env['TRIAGE_SPOOL_DIR']}" in services[name]["volumes"]
    assert "spool" in compose["volumes"]


def test_every_referenced_file_exists():
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    for service in compose["services"].values():
        build = service.get("build")
        if build:
            assert (DOCKER / build["context"] / build["dockerfile"]).exists()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DOCKER / source).exists(), source
    for dockerfile in DOCKER.glob("Dockerfile.*"):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY "):
                for source in line.split()[1:-1]:
                    assert (ROOT / source).exists(), f"{dockerfile.name}: {source}"
        assert re.search(r"^FROM rasa/rasa(-sdk)?:3\.6\.", dockerfile.read_text(), re.M)


def test_image_model_goes_through_the_safety_gate():
    dockerfile = (DOCKER / "Dockerfile.rasa").read_text()
    assert "triage train" in dockerfile and "tests/heldout" in dockerfile
    assert not re.search(r"rasa train", dockerfile), "a bare `rasa train` would skip the held-out gate"
    # the gate must see the project in /app, not an installed copy without tests/heldout
    assert dockerfile.index("ENV PYTHONPATH=/app") < dockerfile.index("triage train")


def test_helm_values_parse_and_take_secrets_from_kubernetes():
    for name in ("rasa-values.yaml", "action-server-values.yaml"):
        values = yaml.safe_load((DOCKER / "helm" / name).read_text())
        assert values["volumes"][0]["secret"]["secretName"] == "triage-master-key"
        text = (DOCKER / "helm" / name).read_text()
        assert "secretKeyRef" in text
        assert not re.search(r"(password|secret|token)[ \t]*:[ \t]*['\"]?[A-Za-z0-9]{12,}", text, re.I)


def test_nginx_config_passes_nginx_t(tmp_path):
    conf = subprocess.run([str(ROOT / "scripts" / "render-nginx"), str(tmp_path), "18080", "18081", "18082"],
                          capture_output=True, text=True, check=True).stdout.strip()
    nginx = "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "nginx"
    result = subprocess.run([nginx, "-t", "-c", conf], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
