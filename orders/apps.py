from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mrmarket.health import status_queue_register
        from orders import queues

        # The admin health widget reads these two (CONTRACT `/health/system-status`).
        status_queue_register("snapshots", queues.snapshot_queue_counts)
        status_queue_register("marketMaking", queues.order_queue_counts)
