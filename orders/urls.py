"""orders: routes (CONTRACT.md paths, no trailing slash)."""

from django.urls import path

from orders import apis

MM = "user-orders/market-making"

urlpatterns = [
    path(f"{MM}/intent", apis.OrderIntentCreateApi.as_view(), name="order-intent"),
    path(
        "user-orders/payment-state/market-making/<uuid:order_id>",
        apis.PaymentStateApi.as_view(),
        name="order-payment-state",
    ),
    path(f"{MM}/all", apis.OrderListApi.as_view(), name="order-list"),
    path("user-orders/all", apis.UserOrdersAllApi.as_view(), name="user-orders-all"),
    path(
        f"{MM}/lifecycle/<uuid:order_id>", apis.OrderLifecycleApi.as_view(), name="order-lifecycle"
    ),
    path(f"{MM}/<uuid:order_id>", apis.OrderDetailApi.as_view(), name="order-detail"),
    path(f"{MM}/<uuid:order_id>/pause", apis.OrderPauseApi.as_view(), name="order-pause"),
    path(f"{MM}/<uuid:order_id>/resume", apis.OrderResumeApi.as_view(), name="order-resume"),
    path(f"{MM}/<uuid:order_id>/stop", apis.OrderStopApi.as_view(), name="order-stop"),
    path(f"{MM}/<uuid:order_id>/exit-withdrawal", apis.OrderExitApi.as_view(), name="order-exit"),
    path("admin/outbox", apis.AdminOutboxApi.as_view(), name="admin-outbox"),
    path("fees/market-making/fee", apis.MarketMakingFeeApi.as_view(), name="fees-market-making"),
    path(
        "user-orders/market-making/history/instance/<str:order_id>",
        apis.OrderHistoryInstanceApi.as_view(),
        name="order-history-instance",
    ),
]
