import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# gunicorn and runserver both load this module: neither serves on a forgeable key.
from billing.secrets_check import ensure_production_secrets  # noqa: E402

ensure_production_secrets()

# Move everything loaded at startup out of the collector's reach: a request that parses
# a large body (1,000 usage events) otherwise triggers full collections that walk every
# module and model Django loaded, costing tens of milliseconds a request. The URLconf
# (every view, serializer and the schema machinery they import) is loaded first, or
# the first request would load it after the freeze, where collections still walk it.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
