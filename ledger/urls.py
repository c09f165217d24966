"""ledger: routes (CONTRACT.md paths, no trailing slash)."""

from django.urls import path

from ledger import apis

urlpatterns = [
    path("admin/ledger", apis.LedgerEntryListApi.as_view(), name="admin-ledger"),
]
