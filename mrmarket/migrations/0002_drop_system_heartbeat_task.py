"""Beat writes its own heartbeat now: the old `system-heartbeat` periodic task row goes."""

from django.db import migrations


def drop(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task="system_heartbeat_task").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mrmarket", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
