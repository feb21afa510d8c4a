"""Refuse to serve with a secret anyone can know.

With DEBUG off, SECRET_KEY signs sessions and document links and JWT_SIGNING_KEY signs
access tokens: a default, empty or short key lets anyone forge them. `check --deploy`
reports the problems; the WSGI/ASGI application, the Celery worker and beat refuse to
start on them (`ensure_production_secrets`).
"""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# Keys that were ever written down in this project (settings, compose) or in Django's
# own templates: a server running on one of them can be forged against.
KNOWN_PUBLIC_KEYS = frozenset(
    {
        "dev-only-insecure-secret-key-change-me-in-production",
        "change-me-in-production",
        "changeme",
        "secret",
    }
)
MIN_KEY_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5


def _weakness(key: str) -> str | None:
    if not key:
        return "is empty"
    if key in KNOWN_PUBLIC_KEYS or key.startswith("django-insecure-"):
        return "is a published default"
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return f"is shorter than {MIN_KEY_LENGTH} characters or too repetitive"
    return None


def secret_problems() -> list[checks.Error]:
    """What is wrong with the signing keys for a server with DEBUG off."""
    if settings.DEBUG:
        return []
    problems = []
    hint = 'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
    weakness = _weakness(settings.SECRET_KEY)
    if weakness:
        problems.append(
            checks.Error(f"SECRET_KEY {weakness}.", hint=hint, id="billing.E001"),
        )
    jwt_key = settings.JWT_SIGNING_KEY
    weakness = _weakness(jwt_key)
    if weakness:
        problems.append(
            checks.Error(f"JWT_SIGNING_KEY {weakness}.", hint=hint, id="billing.E002"),
        )
    elif jwt_key == settings.SECRET_KEY:
        problems.append(
            checks.Error(
                "JWT_SIGNING_KEY is the same as SECRET_KEY.",
                hint="Use a separate key, so one leaked key does not forge the other's tokens.",
                id="billing.E003",
            )
        )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    return secret_problems()


def ensure_production_secrets() -> None:
    """Raise before serving anything when DEBUG is off and a signing key is weak."""
    problems = secret_problems()
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off: "
            + " ".join(f"{p.msg} ({p.id}) {p.hint}" for p in problems)
        )
