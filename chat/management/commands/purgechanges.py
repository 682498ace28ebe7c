"""`manage.py purgechanges`: drop changes older than CHAT_CHANGE_RETENTION_DAYS.

Every serving process does this about once an hour (chat.realtime.retention);
the command does it at once, through the same service: after lowering the
retention, or where no server runs. A client whose `changes_after` is older
than what is kept then gets `sync.reset` (HTTP: 410 `changes_expired`) and
reloads: never a silent gap.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from chat.services.changes import prune_changes


class Command(BaseCommand):
    help = (
        "Delete message changes (edits, deletions, reactions) older than "
        "CHAT_CHANGE_RETENTION_DAYS; clients behind them reload their history."
    )

    def handle(self, *args, **options):
        count = prune_changes()
        noun = "change" if count == 1 else "changes"
        days = settings.CHAT_CHANGE_RETENTION_DAYS
        unit = "day" if days == 1 else "days"
        self.stdout.write(f"Deleted {count} {noun} older than {days} {unit}.")
