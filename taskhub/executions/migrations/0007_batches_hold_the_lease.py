"""Batches hold the lease: executions still owed go into ExecutionBatch rows, the reconciler's new source.

Runs caught as ``running`` go back to ``queued`` (nobody claims an execution row any
more); every execution still owed is put in a batch of up to 1,000 whose lease has
already expired, so the first reconcile run sends them (on the default queue).
"""

from django.db import migrations, models
from django.utils import timezone

OWED = ("queued", "running", "retrying")


def owed_into_batches(apps, schema_editor):
    Execution = apps.get_model("executions", "Execution")
    ExecutionBatch = apps.get_model("executions", "ExecutionBatch")
    Execution.objects.filter(status="running").update(status="queued")
    ids = list(Execution.objects.filter(status__in=OWED).order_by("id").values_list("id", flat=True))
    now = timezone.now()
    ExecutionBatch.objects.bulk_create(
        [
            ExecutionBatch(execution_ids=ids[i : i + 1000], queue="default", priority=3, lease_expires_at=now)
            for i in range(0, len(ids), 1000)
        ]
    )


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0006_status_index_only_for_rare_outcomes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ExecutionBatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('execution_ids', models.JSONField()),
                ('queue', models.CharField(max_length=16)),
                ('priority', models.PositiveSmallIntegerField()),
                ('claims', models.PositiveSmallIntegerField(default=0)),
                ('taken_at', models.DateTimeField(blank=True, null=True)),
                ('run_after', models.DateTimeField(blank=True, null=True)),
                ('lease_expires_at', models.DateTimeField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(owed_into_batches, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='execution',
            name='exec_in_flight_lease',
        ),
        migrations.RemoveField(
            model_name='execution',
            name='lease_expires_at',
        ),
        migrations.AlterField(
            model_name='execution',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('succeeded', 'Succeeded'), ('retrying', 'Retrying'), ('failed', 'Failed'), ('skipped', 'Skipped'), ('missed', 'Missed')], default='queued', max_length=16),
        ),
        migrations.AddIndex(
            model_name='executionbatch',
            index=models.Index(fields=['lease_expires_at'], name='batch_by_lease'),
        ),
    ]
