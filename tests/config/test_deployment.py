"""The production deployment files: no Docker engine runs here, so they are checked as data."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_redis_web_worker_and_beat_with_health_checks():
    services = load_compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "test" in services[name]["healthcheck"], f"{name} has no health check"
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_keeps_data_and_artifacts_in_named_volumes():
    compose = load_compose()
    assert {"postgres", "data", "artifacts"} <= set(compose["volumes"])
    for name in ("web", "worker", "beat"):
        mounts = compose["services"][name]["volumes"]
        assert "artifacts:/artifacts" in mounts and "data:/data" in mounts


def test_compose_holds_no_secrets():
    text = (ROOT / "docker-compose.yml").read_text()
    compose = load_compose()
    for name in ("web", "worker", "beat"):
        assert compose["services"][name]["env_file"] == ".env"
        assert "DJANGO_SECRET_KEY" not in str(compose["services"][name].get("environment", {}))
    assert "${POSTGRES_PASSWORD:?" in text
    example = (ROOT / ".env.example").read_text()
    assert "DJANGO_SECRET_KEY=" in example


def test_dockerfile_is_multi_stage_installs_the_lock_and_runs_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "--require-hashes -r /tmp/requirements.lock" in text
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1].split()[1] not in {"root", "0"}


def test_compose_gives_the_worker_an_init_that_reaps_orphaned_run_supervisors():
    assert load_compose()["services"]["worker"]["init"] is True
