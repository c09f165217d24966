from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator's cockpit on top of Django's admin: the operations overview as the
    landing page, the order page that answers "what is this order doing", human formatting,
    and the operator API. Top of the dependency map: reads every app, imported by none."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "console"

    def ready(self) -> None:
        from console.site import install

        install()
