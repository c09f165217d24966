"""ledger: API serializers (input validation and documented output shapes)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ledger.selectors import MAX_ENTRY_LIMIT


class LedgerEntryListInputSerializer(serializers.Serializer[Any]):
    userId = serializers.UUIDField(required=False)
    assetId = serializers.UUIDField(required=False)
    orderId = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ENTRY_LIMIT, default=100
    )


class LedgerPostingOutputSerializer(serializers.Serializer[Any]):
    account = serializers.CharField()
    accountKind = serializers.CharField()
    assetId = serializers.CharField()
    debit = serializers.CharField(help_text="Decimal string.")
    credit = serializers.CharField(help_text="Decimal string.")


class LedgerEntryOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    idempotencyKey = serializers.CharField()
    kind = serializers.CharField()
    reference = serializers.CharField()
    status = serializers.CharField()
    twoPhase = serializers.BooleanField()
    description = serializers.CharField()
    createdAt = serializers.CharField(help_text="ISO-8601 UTC.")
    resolvedAt = serializers.CharField(allow_null=True, help_text="ISO-8601 UTC; post/void time.")
    postings = LedgerPostingOutputSerializer(many=True)


class LedgerEntryListOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    entries = LedgerEntryOutputSerializer(many=True)
