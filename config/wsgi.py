import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# gunicorn and runserver both load this module: neither serves on a forgeable key.
from billing.secrets_check import ensure_production_secrets  # noqa: E402

ensure_production_secrets()
