from django.apps import AppConfig


class StrategyConfig(AppConfig):
    name = "strategy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # deferred: AppConfig.ready. Registers the runtime's tasks by name for
        # `strategy.dispatch` in every process (the documented place for registrations that
        # need the models loaded).
        from strategy import tasks  # noqa: F401
