"""docker-compose.yml, the Dockerfile and .env.example, checked by reading them (no Docker here)."""

import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = settings.BASE_DIR


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def example_variables() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_env_example_lists_every_variable_the_settings_read():
    source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:_bool|_int|_list)?\("([A-Z_]+)"', source))
    assert read >= {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    assert read <= example_variables()


def test_env_example_keeps_the_database_password_in_step():
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    user, password, db = values["POSTGRES_USER"], values["POSTGRES_PASSWORD"], values["POSTGRES_DB"]
    assert values["MIGRATE_DATABASE_URL"] == f"postgres://{user}:{password}@postgres:5432/{db}"
    app, app_password = values["DB_APP_ROLE"], values["APP_DB_PASSWORD"]
    assert values["DATABASE_URL"] == f"postgres://{app}:{app_password}@postgres:5432/{db}"
    assert app != user
    assert values["DEBUG"] == "0"


def test_compose_migrates_as_the_owner_and_creates_the_app_role():
    services = compose()["services"]
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("${MIGRATE_DATABASE_URL")
    assert "DATABASE_URL" not in services["web"].get("environment", {})
    assert (
        "./deploy/postgres-init:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    )
    init = (ROOT / "deploy" / "postgres-init" / "10-app-role.sh").read_text()
    assert 'CREATE ROLE :"app_role" LOGIN' in init


def test_compose_runs_web_worker_beat_on_postgres_and_redis():
    services = compose()["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["web"]["command"][:2] == ["gunicorn", "config.wsgi"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["env_file"] == ".env"


def test_compose_starts_the_app_only_on_healthy_services_and_migrated_schema():
    services = compose()["services"]
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }


def test_dockerfile_installs_requirements_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "whitenoise" in (ROOT / "requirements.txt").read_text()


def test_env_example_sets_each_variable_once_and_tells_no_history():
    text = (ROOT / ".env.example").read_text()
    names = [line.split("=", 1)[0] for line in text.splitlines() if line and line[0] != "#"]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert "branch" not in text and "merged" not in text


def comment_above(name: str) -> str:
    lines = (ROOT / ".env.example").read_text().splitlines()
    index = next(n for n, line in enumerate(lines) if line.startswith(f"{name}="))
    comment = []
    for line in reversed(lines[:index]):
        if not line.startswith("#"):
            break
        comment.insert(0, line)
    return "\n".join(comment)


def test_env_example_says_how_to_add_the_servers_own_address():
    hosts = comment_above("ALLOWED_HOSTS")
    assert "add the server's own" in hosts
    assert re.search(r"ALLOWED_HOSTS=localhost,127\.0\.0\.1,\d+\.\d+\.\d+\.\d+", hosts)
    origins = comment_above("CSRF_TRUSTED_ORIGINS")
    assert re.search(r"CSRF_TRUSTED_ORIGINS=http://\d+\.\d+\.\d+\.\d+:8000,https://", origins)


def test_every_locale_path_exists():
    for path in settings.LOCALE_PATHS:
        assert Path(path).is_dir(), path
