"""What `manage.py ban` and `manage.py mute` share: the arguments, the call of
the service, and what they print. Each command names its service functions and
its words."""

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat.errors import ChatError
from chat.services.moderation import MAX_EXPIRES_IN
from chatsite.arguments import text, whole_number

USERNAME_MAX = User._meta.get_field("username").max_length


class RestrictionCommand(BaseCommand):
    """`<room> <username> [--reason R] [--expires-in SECONDS] [--lift]`."""

    noun = ""  # "ban", "mute"
    restrict: Callable  # the service that gives one: moderation.ban, .mute
    lift: Callable  # the service that lifts one: moderation.unban, .unmute
    given = ""  # how the output says it: "Banned {username} from '{room}'"
    lifted = ""  # "Lifted the ban of {username} from '{room}'."

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
            help=f"End the {self.noun} after this many seconds "
            "(default: until lifted).",
        )
        parser.add_argument(
            "--lift", action="store_true", help=f"Lift the {self.noun}."
        )

    def handle(self, *args, room, username, reason, expires_in, lift, **options):
        try:
            if lift:
                self.lift(slug=room, username=username, reason=reason)
                self.stdout.write(self.lifted.format(username=username, room=room))
                return
            restriction = self.restrict(
                slug=room, username=username, reason=reason, expires_in=expires_in
            )
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        until = restriction.expires_at.isoformat() if restriction.expires_at else None
        self.stdout.write(
            self.given.format(username=username, room=room)
            + (f" until {until}." if until else " until lifted.")
        )
