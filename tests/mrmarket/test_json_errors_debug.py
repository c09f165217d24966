"""Every error of the API is CONTRACT's JSON body, with DEBUG on too (as under `make run`)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import path

pytestmark = pytest.mark.django_db
NOT_FOUND = {"statusCode": 404, "message": "Not found.", "error": "not_found"}


@override_settings(DEBUG=True)
@pytest.mark.parametrize(
    "path",
    [
        "/no/such/path",
        "/user-orders/market-making/not-a-uuid",
        "/user-orders/payment-state/market-making/123",
        "/user-orders/market-making/lifecycle/xyz",
        "/admin/exchanges/keys/abc",
        "/admin/grow/market-making/update/nope",
        "/coingecko",
    ],
)
def test_unknown_paths_and_malformed_ids_answer_json_in_debug(api, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == NOT_FOUND


def _boom(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("secret internals")


urlpatterns = [path("boom", _boom)]  # a plain Django view, outside DRF's handler


@override_settings(DEBUG=True, ROOT_URLCONF=__name__)
def test_an_unhandled_error_outside_drf_is_json_without_the_trace_in_debug(client) -> None:
    client.raise_request_exception = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret internals" not in response.content.decode()


@override_settings(DEBUG=True)
def test_the_console_keeps_its_html_pages(admin_client) -> None:
    response = admin_client.get("/console/no-such-admin-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
