"""`manage.py addmember <room> <username> [--remove]`: manage a room's members.

The operator's way to fill a private room (its owner's is the HTTP API, and the
admin's is the room page). It calls the same service, so the user's open
connections join (or leave) the room's live messages at once.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat.errors import ChatError
from chat.services.rooms import add_member, remove_member
from chatsite.arguments import text

USERNAME_MAX = User._meta.get_field("username").max_length


class Command(BaseCommand):
    help = "Add a user to a room (public or private), or remove them with --remove."

    def add_arguments(self, parser):
        parser.add_argument("room", type=text(max_length=50), help="The room's slug.")
        parser.add_argument("username", type=text(max_length=USERNAME_MAX))
        parser.add_argument(
            "--remove", action="store_true", help="Remove the user from the room."
        )

    def handle(self, *args, room, username, remove, **options):
        change = remove_member if remove else add_member
        try:
            conversation, user, changed = change(slug=room, username=username)
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        if remove:
            state = "Removed" if changed else "Was not a member:"
            self.stdout.write(f"{state} {user.username} from '{conversation.slug}'.")
        else:
            state = "Added" if changed else "Already a member:"
            self.stdout.write(f"{state} {user.username} to '{conversation.slug}'.")
