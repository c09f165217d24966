"""The admin's landing page becomes the operations overview (Django's app list stays
below it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from console.human import humanize_site


def install() -> None:
    original = admin.site.index

    def index(
        request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        from console.selectors import overview_data  # the site is built before apps' models

        context = {**(extra_context or {}), "overview": overview_data()}
        return original(request, context)

    admin.site.index = index  # type: ignore[method-assign]  # the console wraps the admin index view
    humanize_site(admin.site)
    admin.site.index_template = "console/index.html"
