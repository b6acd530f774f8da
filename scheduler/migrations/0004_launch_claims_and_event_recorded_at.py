# Launch claims on jobs (exactly one launch per job) and the time each job event was recorded.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduler", "0003_job_newest_first_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="trainingjob",
            name="launch_token",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="trainingjob",
            name="launch_claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="trainingjob",
            name="launch_attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="jobevent",
            name="recorded_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        # Events recorded before this field existed: the best known time is when they happened.
        migrations.RunSQL(
            "UPDATE scheduler_jobevent SET recorded_at = at", reverse_sql=migrations.RunSQL.noop, elidable=True
        ),
        migrations.AlterField(
            model_name="jobevent",
            name="at",
            field=models.DateTimeField(help_text="When it happened, by the backend's clock where it said."),
        ),
        migrations.AlterModelOptions(
            name="jobevent",
            options={"ordering": ["recorded_at", "id"]},
        ),
    ]
