"""The fake custody's tables, now this app's (decision 0910).

`orders` 0008 renamed the orders app's tables to this app's names where this app is
installed, so they are adopted as they are (rows kept); a database that never had them (the
app installed later) gets them created here.
"""

import uuid
from django.db import migrations, models


MODELS = ("FakeCustodyAsset", "FakeCustodyBalance", "FakeCustodySnapshot", "FakeCustodyTransaction")


def create_missing(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for name in MODELS:
        model = apps.get_model("fake_custody", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orders", "0008_fake_custody_moves_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FakeCustodyAsset",
                    fields=[
                        (
                            "asset_id",
                            models.CharField(max_length=36, primary_key=True, serialize=False),
                        ),
                        ("symbol", models.CharField(max_length=32)),
                        ("chain_id", models.CharField(max_length=36)),
                        ("precision", models.PositiveSmallIntegerField(default=8)),
                        (
                            "price_usd",
                            models.DecimalField(decimal_places=18, default=0, max_digits=38),
                        ),
                        (
                            "withdrawal_fee",
                            models.DecimalField(decimal_places=18, default=0, max_digits=38),
                        ),
                    ],
                    options={
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("withdrawal_fee__gte", 0)),
                                name="fake_custody_asset_fee_nonneg",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="FakeCustodyBalance",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("asset_id", models.CharField(max_length=36, unique=True)),
                        (
                            "balance",
                            models.DecimalField(decimal_places=18, default=0, max_digits=38),
                        ),
                    ],
                    options={
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("balance__gte", 0)),
                                name="fake_custody_balance_nonneg",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="FakeCustodySnapshot",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("snapshot_id", models.UUIDField(default=uuid.uuid4, unique=True)),
                        ("asset_id", models.CharField(max_length=36)),
                        ("amount", models.DecimalField(decimal_places=18, max_digits=38)),
                        ("opponent_id", models.CharField(blank=True, default="", max_length=64)),
                        ("memo", models.TextField(blank=True, default="")),
                        ("transaction_hash", models.CharField(max_length=128)),
                        (
                            "request_id",
                            models.CharField(blank=True, max_length=36, null=True, unique=True),
                        ),
                        ("deposit_hash", models.CharField(blank=True, max_length=128, null=True)),
                        ("created_at", models.DateTimeField(db_index=True)),
                    ],
                    options={
                        "ordering": ["created_at", "snapshot_id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("deposit_hash",), name="fake_custody_snapshot_deposit_once"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("deposit_hash__isnull", True),
                                    models.Q(
                                        ("amount__gt", 0),
                                        ("transaction_hash", models.F("deposit_hash")),
                                    ),
                                    _connector="OR",
                                ),
                                name="fake_custody_snapshot_deposit_shape",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="FakeCustodyTransaction",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("request_id", models.CharField(max_length=36, unique=True)),
                        (
                            "kind",
                            models.CharField(
                                choices=[("transfer", "Transfer"), ("withdrawal", "Withdrawal")],
                                max_length=16,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("confirmed", "Confirmed"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("asset_id", models.CharField(max_length=36)),
                        ("amount", models.DecimalField(decimal_places=18, max_digits=38)),
                        ("fee", models.DecimalField(decimal_places=18, default=0, max_digits=38)),
                        ("opponent_id", models.CharField(blank=True, default="", max_length=64)),
                        ("destination", models.CharField(blank=True, default="", max_length=256)),
                        ("tag", models.CharField(blank=True, default="", max_length=128)),
                        ("memo", models.TextField(blank=True, default="")),
                        ("transaction_hash", models.CharField(max_length=128)),
                        ("snapshot_id", models.UUIDField(blank=True, null=True)),
                        ("failure_reason", models.TextField(blank=True, default="")),
                        ("confirm_after", models.DateTimeField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "indexes": [
                            models.Index(
                                fields=["status", "confirm_after"], name="fake_custody_tx_due"
                            )
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("amount__gt", 0)),
                                name="fake_custody_tx_amount_pos",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("status__in", ["pending", "confirmed", "failed"])
                                ),
                                name="fake_custody_tx_status_valid",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(create_missing, migrations.RunPython.noop),
    ]
