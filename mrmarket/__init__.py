"""Mr.Market project package: settings, root urls, Celery app, auth, health, shared infrastructure."""

from mrmarket.celery import app as celery_app

__all__ = ("celery_app",)
