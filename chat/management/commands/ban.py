"""`manage.py ban <room> <username> [--reason R] [--expires-in SECONDS] [--lift]`.

The operator's way to ban (or, with --lift, unban) a user; the same service as
the HTTP API's, so the user's open connections leave the room at once and the
audit log records it (with no actor: the system).
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat.errors import ChatError
from chat.services.moderation import MAX_EXPIRES_IN, ban, unban
from chatsite.arguments import text, whole_number

USERNAME_MAX = User._meta.get_field("username").max_length


class Command(BaseCommand):
    help = "Ban a user from a room (for --expires-in seconds, else until lifted)."

    def add_arguments(self, parser):
        parser.add_argument("room", type=text(max_length=50), help="The room's slug.")
        parser.add_argument("username", type=text(max_length=USERNAME_MAX))
        parser.add_argument("--reason", default="", help="Why (kept in the log).")
        parser.add_argument(
            "--expires-in",
            dest="expires_in",
            metavar="SECONDS",
            type=whole_number(low=1, high=MAX_EXPIRES_IN),
            default=None,
            help="End the ban after this many seconds (default: until lifted).",
        )
        parser.add_argument("--lift", action="store_true", help="Lift the ban.")

    def handle(self, *args, room, username, reason, expires_in, lift, **options):
        try:
            if lift:
                unban(slug=room, username=username, reason=reason)
                self.stdout.write(f"Lifted the ban of {username} from '{room}'.")
                return
            restriction = ban(
                slug=room, username=username, reason=reason, expires_in=expires_in
            )
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        until = restriction.expires_at.isoformat() if restriction.expires_at else None
        self.stdout.write(
            f"Banned {username} from '{room}' "
            + (f"until {until}." if until else "until lifted.")
        )
