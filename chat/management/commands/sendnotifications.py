"""`manage.py sendnotifications`: one round of the missed-message email and push."""

from django.core.management.base import BaseCommand

from chat.services.notifications import run_round


class Command(BaseCommand):
    help = (
        "Email and push what is due now for the direct messages and mentions "
        "users missed, once (each serving process also does this every "
        "CHAT_NOTIFY_INTERVAL_SECONDS; one process at a time does the work)."
    )

    def handle(self, *args, **options):
        result = run_round()
        if not result.ran:
            self.stdout.write("Another process is running a round; nothing done.")
            return
        self.stdout.write(
            f"Looked at {result.looked_at} messages; sent {result.emails} emails "
            f"and {result.pushed} pushes; cancelled {result.cancelled} emails "
            f"already read; {result.failed_emails} emails failed."
        )
