"""`manage.py purgeuploads`: remove the files nobody can reach any more."""

from django.core.management.base import BaseCommand

from chat.services.uploads import purge_uploads


class Command(BaseCommand):
    help = (
        "Remove from storage the files of deleted or purged messages and uploads "
        "never attached, once CHAT_UPLOAD_PURGE_HOURS have passed (the server "
        "also does this hourly)."
    )

    def handle(self, *args, **options):
        count = purge_uploads()
        noun = "file" if count == 1 else "files"
        self.stdout.write(f"Removed {count} {noun}.")
