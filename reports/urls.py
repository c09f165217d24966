from django.urls import path

from reports import apis, views

urlpatterns = [
    path("metrics/execution-report", apis.ExecutionReportApi.as_view(), name="execution-report"),
    path(
        "metrics/execution-report.csv",
        apis.ExecutionReportCsvApi.as_view(),
        name="execution-report-csv",
    ),
    path("metrics/execution-report/bundle", apis.ReportBundleApi.as_view(), name="report-bundle"),
    path(
        "user-orders/market-making/proof/<str:order_id>",
        apis.ProofSettingApi.as_view(),
        name="proof-setting",
    ),
    path("proof/<str:order_id>", views.proof_page, name="proof-page"),
    path("proof/<str:order_id>/bundle.json", views.proof_bundle, name="proof-bundle"),
]
