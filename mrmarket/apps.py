from django.apps import AppConfig


class MrMarketConfig(AppConfig):
    name = "mrmarket"
    label = "mrmarket"
    verbose_name = "Mr.Market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mrmarket import schema  # noqa: F401  (registers the OpenAPI auth extension)
