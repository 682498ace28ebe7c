"""`manage.py ban <room> <username> [--reason R] [--expires-in SECONDS] [--lift]`.

The operator's way to ban (or, with --lift, unban) a user; the same service as
the HTTP API's, so the user's open connections leave the room at once and the
audit log records it (with no actor: the system).
"""

from chat.management.restriction import RestrictionCommand
from chat.services.moderation import ban, unban


class Command(RestrictionCommand):
    help = "Ban a user from a room (for --expires-in seconds, else until lifted)."
    noun = "ban"
    restrict = staticmethod(ban)
    lift = staticmethod(unban)
    given = "Banned {username} from '{room}'"
    lifted = "Lifted the ban of {username} from '{room}'."
