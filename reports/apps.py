from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Execution reports, verifiable report bundles, replay and public proof pages.

    The top of the dependency map: reads orders, strategy, ledger and exchanges; nothing
    below imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
