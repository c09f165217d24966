from rest_framework import serializers


class RootOutputSerializer(serializers.Serializer):
    mixin_app_id = serializers.CharField()
    app_hash = serializers.CharField()
    recording_oracle_url = serializers.CharField()
    campaign_launcher_url = serializers.CharField()
    timestamp = serializers.DateTimeField()


class ExchangeHealthSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.CharField()


class HealthOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    timestamp = serializers.DateTimeField()
    exchanges = ExchangeHealthSerializer(many=True)


class TickSaturationSerializer(serializers.Serializer):
    saturated = serializers.BooleanField()
    inFlight = serializers.IntegerField()
    oldestWaitMs = serializers.IntegerField()
    shedLastMinute = serializers.IntegerField()
    maxLatenessMs = serializers.IntegerField()


class TickStatusSerializer(serializers.Serializer):
    running = serializers.BooleanField()
    tickSizeMs = serializers.IntegerField()
    lastTickAtMs = serializers.IntegerField(allow_null=True)
    lastTickAt = serializers.DateTimeField(allow_null=True)
    tickCount = serializers.IntegerField()
    recentlyTicked = serializers.BooleanField()
    saturation = TickSaturationSerializer()


class StatusIssueSerializer(serializers.Serializer):
    component = serializers.CharField(help_text="the part that is down")
    message = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True, help_text="when the part went down")


class QueueCountsSerializer(serializers.Serializer):
    waiting = serializers.IntegerField()
    active = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    delayed = serializers.IntegerField()


class BrokerQueueSerializer(serializers.Serializer):
    waiting = serializers.IntegerField(allow_null=True)


class StatusQueuesSerializer(serializers.Serializer):
    """The Celery broker's queue depth, and the pipeline's work queues (orders.queues)."""

    celery = BrokerQueueSerializer(required=False)
    snapshots = QueueCountsSerializer(required=False)
    marketMaking = QueueCountsSerializer(required=False)


class SystemStatusOutputSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    ok = serializers.BooleanField()
    database = serializers.DictField()
    broker = serializers.DictField()
    beat = serializers.DictField()
    queues = StatusQueuesSerializer()
    workers = serializers.DictField(help_text="alive, periodSeconds, list of each worker")
    processes = serializers.DictField(
        required=False, help_text="make run's processes: state, starts, crashes, lastExit"
    )
    custody = serializers.DictField(required=False)
    reconciliation = serializers.DictField(required=False)
    tick = TickStatusSerializer()
    exchanges = ExchangeHealthSerializer(many=True)
    issues = StatusIssueSerializer(many=True)


class AdminLoginInputSerializer(serializers.Serializer):
    password = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        help_text="sha256 hex of the admin password",
        error_messages={"invalid": "password must be the sha256 hex of the admin password"},
    )


class AdminLoginOutputSerializer(serializers.Serializer):
    access_token = serializers.CharField()


class OAuthInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=512)


class OAuthOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class OkOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField()


class ErrorSerializer(serializers.Serializer):
    statusCode = serializers.IntegerField()
    message = serializers.CharField()
    error = serializers.CharField()


class MeOutputSerializer(serializers.Serializer):
    userId = serializers.UUIDField(source="pk")
    identityNumber = serializers.CharField(source="identity_number")
    fullName = serializers.CharField(source="full_name")
    avatarUrl = serializers.CharField(source="avatar_url")
    isStaff = serializers.BooleanField(source="is_staff")
