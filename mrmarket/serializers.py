from typing import Any

from rest_framework import serializers


class RootOutputSerializer(serializers.Serializer[Any]):
    mixin_app_id = serializers.CharField()
    app_hash = serializers.CharField()
    recording_oracle_url = serializers.CharField()
    campaign_launcher_url = serializers.CharField()
    timestamp = serializers.DateTimeField()


class ExchangeHealthSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    status = serializers.CharField()


class HealthOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    timestamp = serializers.DateTimeField()
    exchanges = ExchangeHealthSerializer(many=True)


class TickSaturationSerializer(serializers.Serializer[Any]):
    saturated = serializers.BooleanField()
    inFlight = serializers.IntegerField()
    oldestWaitMs = serializers.IntegerField()
    shedLastMinute = serializers.IntegerField()
    maxLatenessMs = serializers.IntegerField()


class TickStatusSerializer(serializers.Serializer[Any]):
    running = serializers.BooleanField()
    tickSizeMs = serializers.IntegerField()
    lastTickAtMs = serializers.IntegerField(allow_null=True)
    lastTickAt = serializers.DateTimeField(allow_null=True)
    tickCount = serializers.IntegerField()
    recentlyTicked = serializers.BooleanField()
    saturation = TickSaturationSerializer()


class StatusIssueSerializer(serializers.Serializer[Any]):
    component = serializers.CharField(help_text="the part that is down")
    message = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True, help_text="when the part went down")


class QueueCountsSerializer(serializers.Serializer[Any]):
    waiting = serializers.IntegerField()
    active = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    delayed = serializers.IntegerField()


class BrokerQueueSerializer(serializers.Serializer[Any]):
    waiting = serializers.IntegerField(allow_null=True)
    oldestAgeSeconds = serializers.FloatField(
        allow_null=True, help_text="age of the oldest waiting message (null: none waiting)"
    )


class StatusQueuesSerializer(serializers.Serializer[Any]):
    """The Celery broker's queue depth, and the pipeline's work queues (orders.queues)."""

    celery = BrokerQueueSerializer(required=False)
    snapshots = QueueCountsSerializer(required=False)
    marketMaking = QueueCountsSerializer(required=False)


class DatabaseStatusSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    vendor = serializers.CharField(help_text="postgresql or sqlite")


class BrokerStatusSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    transport = serializers.CharField(help_text="filesystem, redis, ...")
    error = serializers.CharField(required=False, help_text="why it is unreachable")


class BeatStatusSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    lastBeatAt = serializers.DateTimeField(allow_null=True)
    count = serializers.IntegerField()
    periodSeconds = serializers.IntegerField()


class WorkerStatusSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["alive", "stopped", "silent"])
    lastBeatAt = serializers.DateTimeField(allow_null=True)
    pid = serializers.IntegerField(allow_null=True)
    processed = serializers.IntegerField(allow_null=True)
    active = serializers.IntegerField(allow_null=True)


class WorkersStatusSerializer(serializers.Serializer[Any]):
    alive = serializers.IntegerField()
    periodSeconds = serializers.IntegerField()
    list = WorkerStatusSerializer(many=True)


class ProcessExitSerializer(serializers.Serializer[Any]):
    code = serializers.IntegerField(allow_null=True, help_text="exit code (null: killed)")
    signal = serializers.CharField(allow_null=True, help_text="signal name, e.g. SIGKILL")
    at = serializers.FloatField(help_text="epoch seconds")
    uptime = serializers.FloatField(help_text="seconds it ran")


class ProcessStatusSerializer(serializers.Serializer[Any]):
    state = serializers.CharField(help_text="running, backoff, ...")
    pid = serializers.IntegerField(allow_null=True)
    starts = serializers.IntegerField()
    crashes = serializers.IntegerField()
    lastExit = ProcessExitSerializer(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)


class CustodyStatusSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    lastSuccessAt = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class MarketDataStatusSerializer(serializers.Serializer[Any]):
    markets = serializers.IntegerField(help_text="(venue, pair) markets of running sessions")
    stale = serializers.ListField(child=serializers.CharField())
    limitSeconds = serializers.IntegerField()


class SystemStatusOutputSerializer(serializers.Serializer[Any]):
    """Every registered part (mrmarket.health's registry) by its own evidence. A part an app
    registers later appears under its name; these are the parts the service has today."""

    timestamp = serializers.DateTimeField()
    ok = serializers.BooleanField()
    database = DatabaseStatusSerializer()
    broker = BrokerStatusSerializer()
    beat = BeatStatusSerializer(required=False, help_text="absent when the database is down")
    queues = StatusQueuesSerializer()
    workers = WorkersStatusSerializer(required=False, help_text="absent when the database is down")
    processes = serializers.DictField(
        child=ProcessStatusSerializer(),
        required=False,
        help_text="make run's processes by name (only under make run's supervisor)",
    )
    custody = CustodyStatusSerializer(required=False, help_text="absent until the first poll")
    marketData = MarketDataStatusSerializer(
        required=False, help_text="absent when no session is running"
    )
    tick = TickStatusSerializer(required=False, help_text="absent when the database is down")
    exchanges = ExchangeHealthSerializer(many=True, required=False)
    issues = StatusIssueSerializer(many=True)


class AdminLoginInputSerializer(serializers.Serializer[Any]):
    password = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        help_text="sha256 hex of the admin password",
        error_messages={"invalid": "password must be the sha256 hex of the admin password"},
    )


class AdminLoginOutputSerializer(serializers.Serializer[Any]):
    access_token = serializers.CharField()


class OAuthInputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=512)


class OAuthOutputSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()


class OkOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()


class ErrorSerializer(serializers.Serializer[Any]):
    statusCode = serializers.IntegerField()
    message = serializers.CharField()
    error = serializers.CharField()


class MeOutputSerializer(serializers.Serializer[Any]):
    userId = serializers.UUIDField(source="pk")
    identityNumber = serializers.CharField(source="identity_number")
    fullName = serializers.CharField(source="full_name")
    avatarUrl = serializers.CharField(source="avatar_url")
    isStaff = serializers.BooleanField(source="is_staff")
