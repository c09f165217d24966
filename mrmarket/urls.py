"""Root urls. Paths are CONTRACT.md's, with no prefix and no trailing slash."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mrmarket import apis

admin.site.site_header = "Mr.Market console"
admin.site.site_title = "Mr.Market console"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", apis.RootApi.as_view(), name="root"),
    path("health", apis.HealthApi.as_view(), name="health"),
    path("health/ping", apis.HealthPingApi.as_view(), name="health-ping"),
    path("health/system-status", apis.SystemStatusApi.as_view(), name="health-system-status"),
    path("auth/login", apis.AdminLoginApi.as_view(), name="auth-login"),
    path("auth/oauth", apis.OAuthApi.as_view(), name="auth-oauth"),
    path("auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me", apis.MeApi.as_view(), name="auth-me"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # The cockpit's pages and the operator API, ahead of the admin's catch-all.
    path("", include("console.urls")),
    path("console/", admin.site.urls),
]

# Apps add their routes here as they land (each app owns its urls.py).
_APP_URLCONFS: list[str] = [
    "exchanges.urls",
    "campaigns.urls",
    "ledger.urls",
    "orders.urls",
    "reports.urls",
    "strategy.urls",
]
urlpatterns += [path("", include(module)) for module in _APP_URLCONFS]

handler400 = "mrmarket.errors.json_400"
handler403 = "mrmarket.errors.json_403"
handler404 = "mrmarket.errors.json_404"
handler500 = "mrmarket.errors.json_500"
