"""Users (Mixin users and staff), auth tokens, the audit log and heartbeats."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from mrmarket.enums import AuditOutcome, TokenKind


class User(AbstractUser):
    """A Mixin user (id = their Mixin user_id) or a staff account of an operator."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identity_number = models.CharField(max_length=32, blank=True, default="")
    full_name = models.CharField(max_length=255, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    is_mixin_user = models.BooleanField(default=False)

    class Meta:
        db_table = "mrmarket_user"
        constraints = [
            models.UniqueConstraint(
                fields=["identity_number"],
                condition=~models.Q(identity_number=""),
                name="user_identity_number_unique",
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.username


class AuthToken(models.Model):
    """One issued credential: a user bearer token or an admin JWT (by its jti).

    Only the sha256 of a user token is stored. Revoking sets `revoked_at`; expiry is
    `expires_at`. Authentication checks both on every request.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    kind = models.CharField(max_length=8, choices=TokenKind.choices)
    digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    label = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mrmarket_auth_token"
        indexes = [models.Index(fields=["user", "kind"], name="auth_token_user_kind")]

    def __str__(self) -> str:
        return f"{self.kind} token {self.id} for {self.user_id}"


class AuditEvent(models.Model):
    """An operator or user action, done or rejected. Append-only."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=120, db_index=True)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices)
    target_type = models.CharField(max_length=60, blank=True, default="")
    target_id = models.CharField(max_length=100, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    trace_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "mrmarket_audit_event"
        ordering = ["-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.action} {self.outcome}"


class Heartbeat(models.Model):
    """Last time a periodic process proved it is alive (beat, strategy tick, sweepers)."""

    name = models.CharField(max_length=60, primary_key=True)
    last_beat_at = models.DateTimeField()
    count = models.BigIntegerField(default=0)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "mrmarket_heartbeat"

    def __str__(self) -> str:
        return self.name
