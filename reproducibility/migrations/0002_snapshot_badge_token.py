"""Badges by an unguessable token, public by number only when published (issue 13, finding 6)."""

from django.db import migrations, models

import reproducibility.models


def give_each_snapshot_a_token(apps, schema_editor):  # type: ignore[no-untyped-def]
    # A callable default is evaluated once for existing rows: each needs its own token.
    Snapshot = apps.get_model("reproducibility", "Snapshot")
    for snapshot in Snapshot.objects.only("pk").iterator():
        Snapshot.objects.filter(pk=snapshot.pk).update(badge_token=reproducibility.models.new_badge_token())


class Migration(migrations.Migration):
    dependencies = [
        ("reproducibility", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="snapshot",
            name="badge_public",
            field=models.BooleanField(default=False, help_text="The project's members published the badge."),
        ),
        migrations.AddField(
            model_name="snapshot",
            name="badge_token",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(give_each_snapshot_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="snapshot",
            name="badge_token",
            field=models.CharField(
                default=reproducibility.models.new_badge_token, editable=False, max_length=64, unique=True
            ),
        ),
    ]
