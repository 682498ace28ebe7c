"""`manage.py postmessage <room> <text>`: post to a room like any client.

The message goes through chat.services.messages.send_message: stored, then fanned
out on the channel layer. With REDIS_URL set, connected clients of every server
process receive it live.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat.errors import ChatError
from chat.selectors import room_by_slug, room_owners
from chat.services.messages import send_message
from chatsite.arguments import text

USERNAME_MAX = User._meta.get_field("username").max_length


class Command(BaseCommand):
    help = "Post a message to a room, as --as USER or else as the room's owner."

    def add_arguments(self, parser):
        parser.add_argument("room", type=text(max_length=50), help="The room's slug.")
        parser.add_argument("text", help="The message body.")
        parser.add_argument(
            "--as",
            dest="sender",
            metavar="USER",
            type=text(max_length=USERNAME_MAX),
            default=None,
            help="The sender, a member of the room (default: the room's owner).",
        )

    def handle(self, *args, room, text, sender, **options):
        try:
            conversation = room_by_slug(room)
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        user = self._sender(conversation, sender)
        try:
            message, _ = send_message(sender=user, room=conversation.slug, body=text)
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(
            f"Posted message {message.id} to '{conversation.slug}' as {user.username}."
        )

    def _sender(self, conversation, username: str | None) -> User:
        if username is None:
            owner = next((u for u in room_owners(conversation) if u.is_active), None)
            if owner is None:
                raise CommandError(
                    f"Room '{conversation.slug}' has no active owner: "
                    "give the sender with --as USER."
                )
            return owner
        try:
            return User.objects.get(username=username, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user named '{username}'.") from None
