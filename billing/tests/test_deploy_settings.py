"""Production settings: with DEBUG off the server refuses to run on a signing key anyone
can know, and it answers only to the host names it is given."""

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Membership
from billing.secrets_check import secret_problems

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED_DEFAULT = "dev-only-insecure-secret-key-change-me-in-production"


def strong_key() -> str:
    return secrets.token_urlsafe(50)


def run(args: list[str], **keys: str) -> subprocess.CompletedProcess[str]:
    """Run a command on the production settings with DEBUG off and only the given keys."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("SECRET_KEY", "JWT_SIGNING_KEY", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS")
    }
    env.update({"DEBUG": "false", "DJANGO_SETTINGS_MODULE": "config.settings", **keys})
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def check_deploy(**keys: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "manage.py", "check", "--deploy"], **keys)


def test_check_deploy_refuses_the_default_keys():
    result = check_deploy()

    assert result.returncode != 0
    assert "billing.E001" in result.stderr
    assert "billing.E002" in result.stderr


def test_check_deploy_passes_strong_separate_keys():
    result = check_deploy(SECRET_KEY=strong_key(), JWT_SIGNING_KEY=strong_key())

    assert "billing.E" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "secret_key",
    [PUBLISHED_DEFAULT, "change-me-in-production", "short-but-random-Zx81", "ab" * 40],
    ids=["settings_default", "compose_default", "short", "repetitive"],
)
def test_a_weak_secret_key_is_an_error(settings, secret_key):
    settings.SECRET_KEY = secret_key
    settings.JWT_SIGNING_KEY = strong_key()

    assert [problem.id for problem in secret_problems()] == ["billing.E001"]


@pytest.mark.parametrize("jwt_key", ["", "django-insecure-" + "x" * 60, "same"])
def test_the_jwt_signing_key_is_required_and_separate(settings, jwt_key):
    settings.SECRET_KEY = strong_key()
    settings.JWT_SIGNING_KEY = settings.SECRET_KEY if jwt_key == "same" else jwt_key

    expected = "billing.E003" if jwt_key == "same" else "billing.E002"
    assert [problem.id for problem in secret_problems()] == [expected]


def test_debug_needs_no_keys(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = PUBLISHED_DEFAULT
    settings.JWT_SIGNING_KEY = ""

    assert secret_problems() == []


def test_the_web_application_refuses_to_load_on_the_default_key():
    refused = run([sys.executable, "-c", "import config.wsgi"], JWT_SIGNING_KEY=strong_key())
    loaded = run(
        [sys.executable, "-c", "import config.wsgi"],
        SECRET_KEY=strong_key(),
        JWT_SIGNING_KEY=strong_key(),
    )

    assert refused.returncode != 0
    assert "Refusing to start with DEBUG off" in refused.stderr
    assert loaded.returncode == 0, loaded.stderr


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_celery_refuses_to_start_on_the_default_key(command, tmp_path):
    result = run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            command,
            *(["-s", str(tmp_path / "schedule")] if command == "beat" else ["--pool", "solo"]),
        ],
        CELERY_BROKER_URL="memory://",
    )

    assert result.returncode != 0
    assert "Refusing to start with DEBUG off" in result.stdout + result.stderr


def test_a_jwt_signed_with_the_published_default_key_is_refused(tenant):
    user_id = Membership.objects.get(workspace=tenant.workspace).user_id
    now = timezone.now()
    forged = jwt.encode(
        {
            "token_type": "access",
            "user_id": str(user_id),
            "jti": secrets.token_hex(16),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
        },
        PUBLISHED_DEFAULT,
        algorithm="HS256",
    )
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {forged}", HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id
    )

    response = client.get("/customers/")

    assert response.status_code == 401


def test_allowed_hosts_default_to_local_names():
    result = run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.ALLOWED_HOSTS)"],
        DEBUG="true",
    )

    assert result.stdout.strip() == "['localhost', '127.0.0.1', '[::1]']", result.stderr
