"""Beat's schedule in the console: read-only (the strategy tick and every periodic task are
code's), except an explicit pause or resume with a reason, audited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from mrmarket.admin import ReadOnlyAdmin
from mrmarket.audit import audit_record

for model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ScheduleReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), min_length=3, strip=True)


def _toggle(enabled: bool) -> Any:
    label = "Resume" if enabled else "Pause"

    def action(
        modeladmin: Any, request: HttpRequest, queryset: QuerySet[PeriodicTask]
    ) -> HttpResponse | None:
        form = ScheduleReasonForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            for task in queryset:
                if task.enabled != enabled:
                    task.enabled = enabled
                    task.save(update_fields=["enabled"])
                    audit_record(
                        action="beat.task_resumed" if enabled else "beat.task_paused",
                        actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
                        target_type="periodic_task",
                        target_id=task.name,
                        reason=form.cleaned_data["reason"],
                        request=request,
                    )
            messages.success(request, f"{label}d {queryset.count()} periodic task(s).")
            return None
        return TemplateResponse(
            request,
            "admin/orders/action_reason.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"{label} periodic tasks — give a reason",
                "action": action.__name__,
                "label": label,
                "orders": queryset,
                "form": form,
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = f"{label.lower()}_tasks"
    return admin.action(description=f"{label} (asks for a reason)", permissions=["view"])(action)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(ReadOnlyAdmin[PeriodicTask]):
    list_display = (
        "name",
        "task",
        "enabled",
        "interval",
        "crontab",
        "last_run_at",
        "total_run_count",
    )
    list_filter = ("enabled",)
    search_fields = ("name", "task")
    actions = [_toggle(False), _toggle(True)]
