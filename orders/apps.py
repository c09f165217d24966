from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # deferred: AppConfig.ready. Models must not load before the app registry is ready,
        # and these modules import models.
        from campaigns.order_source import order_source_register
        from mrmarket.health import status_queue_register
        from orders import queues, tasks  # noqa: F401 - tasks: registers the step sender
        from orders.campaign_source import OrdersForCampaigns

        # The campaigns app reads orders through this seam (it never imports orders).
        order_source_register(OrdersForCampaigns())

        # The admin health widget reads these two (CONTRACT `/health/system-status`).
        status_queue_register("snapshots", queues.snapshot_queue_counts)
        status_queue_register("marketMaking", queues.order_queue_counts)
