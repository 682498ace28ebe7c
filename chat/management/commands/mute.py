"""`manage.py mute <room> <username> [--reason R] [--expires-in SECONDS] [--lift]`.

The operator's way to mute (or, with --lift, unmute) a user in a room: they
still read it, but what they write there is refused. The same service as the
HTTP API's; the audit log records it (with no actor: the system).
"""

from chat.management.restriction import RestrictionCommand
from chat.services.moderation import mute, unmute


class Command(RestrictionCommand):
    help = "Mute a user in a room (for --expires-in seconds, else until lifted)."
    noun = "mute"
    restrict = staticmethod(mute)
    lift = staticmethod(unmute)
    given = "Muted {username} in '{room}'"
    lifted = "Lifted the mute of {username} in '{room}'."
