from django.contrib import admin
from django.urls import path

from console import apis, views

urlpatterns = [
    path(
        "console/cockpit/overview.json",
        admin.site.admin_view(views.overview_json),
        name="console-overview",
    ),
    path(
        "console/cockpit/order/<str:order_id>/",
        admin.site.admin_view(views.order_page),
        name="console-order",
    ),
    path("admin/operator/halts", apis.HaltApi.as_view(), name="operator-halts"),
    path(
        "admin/operator/halts/preview", apis.HaltPreviewApi.as_view(), name="operator-halts-preview"
    ),
    path(
        "admin/operator/orders/<str:order_id>/<str:action>",
        apis.OrderControlApi.as_view(),
        name="operator-order-control",
    ),
]
