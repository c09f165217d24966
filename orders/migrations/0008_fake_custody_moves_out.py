"""The fake custody's four tables leave the orders app (issue 18; decision 0910).

They were created by 0001/0002 when the fake custody lived in `orders`. It is now its own
app, `standins.custody` (label `fake_custody`), which production never installs. In the
database:

- where that app is installed (demo, tests), each table is renamed to the app's table name,
  rows, constraints and indexes included; `fake_custody` 0001 then adopts it (no data lost);
- where it is not (production), the tables are dropped — only if empty: production refuses
  the fake custody, so a row there is a surprise worth stopping the deploy for.

The models leave the orders app's state either way (SeparateDatabaseAndState).
"""

from django.apps import apps as installed_apps
from django.db import migrations

MODELS = ("FakeCustodyAsset", "FakeCustodyBalance", "FakeCustodySnapshot", "FakeCustodyTransaction")
FAKE_APP = "standins.custody"
FAKE_LABEL = "fake_custody"


def new_table(model_name):
    return f"{FAKE_LABEL}_{model_name.lower()}"


def hand_over(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    keep = installed_apps.is_installed(FAKE_APP)
    for name in MODELS:
        model = apps.get_model("orders", name)
        old = model._meta.db_table
        if old not in existing:
            continue
        if keep:
            schema_editor.alter_db_table(model, old, new_table(name))
            continue
        if model.objects.using(schema_editor.connection.alias).exists():
            raise RuntimeError(
                f"{old} has rows but the fake custody app ({FAKE_APP}) is not installed: "
                "install it (outside production) or empty the table before migrating"
            )
        schema_editor.delete_model(model)


def take_back(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for name in MODELS:
        model = apps.get_model("orders", name)
        if new_table(name) in existing:
            schema_editor.alter_db_table(model, new_table(name), model._meta.db_table)
        elif model._meta.db_table not in existing:
            schema_editor.create_model(model)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_venue_wallet_moves"),
    ]

    operations = [
        migrations.RunPython(hand_over, take_back),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name=name) for name in MODELS],
            database_operations=[],
        ),
    ]
