import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Zoom's webhook deliveries skip the middleware that only serves browsers.
from zoom_integration.webhooks.wsgi import with_webhook_path  # noqa: E402

application = with_webhook_path(application)

# Probes and scrapes skip the middleware that serves people (operations/wsgi.py).
from operations.wsgi import with_probe_paths  # noqa: E402

application = with_probe_paths(application)
