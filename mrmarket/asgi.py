"""ASGI entry point (uvicorn): Django and the `/market` socket.io namespace in one app."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mrmarket.settings")
django_application = get_asgi_application()  # sets Django up before the socket imports it

from realtime.server import asgi_application  # noqa: E402

application = asgi_application(django_application)
