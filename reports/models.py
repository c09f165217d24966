"""The public proof page switch: off by default, turned on by the order's owner."""

from __future__ import annotations

from django.db import models


class ProofPage(models.Model):
    order = models.OneToOneField(
        "orders.MarketMakingOrder", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    enabled = models.BooleanField(default=False)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"proof page of {self.order_id} ({'on' if self.enabled else 'off'})"
