"""`manage.py purgemessages --older-than DAYS`: delete old messages."""

from django.core.management.base import BaseCommand, CommandError

from chat.errors import ChatError
from chat.services.messages import MAX_PURGE_DAYS, purge_messages
from chatsite.arguments import whole_number


class Command(BaseCommand):
    help = "Delete messages older than a number of days; --dry-run only counts them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=whole_number(low=0, high=MAX_PURGE_DAYS),
            required=True,
            metavar="DAYS",
            help="Delete messages created more than DAYS days ago "
            f"(0-{MAX_PURGE_DAYS}).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be deleted, delete nothing.",
        )

    def handle(self, *args, older_than, dry_run, **options):
        try:
            count = purge_messages(older_than_days=older_than, dry_run=dry_run)
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        noun = "message" if count == 1 else "messages"
        verb = "Would delete" if dry_run else "Deleted"
        days = "day" if older_than == 1 else "days"
        self.stdout.write(f"{verb} {count} {noun} older than {older_than} {days}.")
