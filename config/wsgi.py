import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Move everything loaded at startup out of the collector's reach: a request that parses
# a large body (1,000 usage events) otherwise triggers full collections that walk every
# module and model Django loaded, costing tens of milliseconds a request.
gc.freeze()
