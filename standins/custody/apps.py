from django.apps import AppConfig


class FakeCustodyConfig(AppConfig):
    name = "standins.custody"
    label = "fake_custody"
    verbose_name = "Fake custody (demo and tests)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # deferred: AppConfig.ready. The gateway module imports this app's models, which
        # must not load before the app registry is ready.
        from orders.custody import custody_backend_register
        from standins.custody.gateway import FakeCustody

        custody_backend_register("fake", FakeCustody)
