"""Beat entry for the quiet-hours release task: every minute, on the low queue."""

from django.db import migrations

NAME = "channels: release held deliveries"


def add_entry(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "taskhub.channels.release_held",
            "interval": every_minute,
            "queue": "low",
            "routing_key": "low",
            "priority": 8,
            "enabled": True,
        },
    )


def remove_entry(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0003_inbox_preferences_ledger"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_entry, remove_entry)]
