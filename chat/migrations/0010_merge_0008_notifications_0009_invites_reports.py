"""Joins the branches of issues 16 and 18: presence, notifications, moderation."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0008_notifications"),
        ("chat", "0008_presence"),
        ("chat", "0009_invites_reports"),
    ]

    operations = []
