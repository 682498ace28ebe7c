"""`manage.py setrole <room> <username> <role>`: owner, moderator or member.

The same service as the HTTP API's: a room keeps at least one owner, and the
audit log records the change (with no actor: the system).
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat.errors import ChatError
from chat.services.rooms import ROLES, set_role
from chatsite.arguments import text

USERNAME_MAX = User._meta.get_field("username").max_length


class Command(BaseCommand):
    help = "Set a member's role in a room: owner, moderator or member."

    def add_arguments(self, parser):
        parser.add_argument("room", type=text(max_length=50), help="The room's slug.")
        parser.add_argument("username", type=text(max_length=USERNAME_MAX))
        parser.add_argument("role", choices=[role.value for role in ROLES])

    def handle(self, *args, room, username, role, **options):
        try:
            membership = set_role(slug=room, username=username, role=role)
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"{username} is now {membership.role} of '{room}'.")
