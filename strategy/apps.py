from django.apps import AppConfig


class StrategyConfig(AppConfig):
    name = "strategy"
    default_auto_field = "django.db.models.BigAutoField"
