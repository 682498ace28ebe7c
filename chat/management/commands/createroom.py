"""`manage.py createroom <slug>`: make a room, as chat.services.rooms does."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat.errors import ChatError
from chat.services.rooms import create_room
from chatsite.arguments import text

USERNAME_MAX = User._meta.get_field("username").max_length


class Command(BaseCommand):
    help = "Make a room (public unless --private); its owner is its first member."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="1-50 lower-case letters, digits, - or _.")
        parser.add_argument("--title", default="", help="Default: the slug.")
        parser.add_argument(
            "--private",
            action="store_true",
            help="Only members see it; its owner adds them.",
        )
        parser.add_argument(
            "--owner",
            metavar="USER",
            type=text(max_length=USERNAME_MAX),
            default=None,
        )

    def handle(self, *args, slug, title, private, owner, **options):
        owner_user = None
        if owner is not None:
            try:
                owner_user = User.objects.get(username=owner, is_active=True)
            except User.DoesNotExist:
                raise CommandError(f"No active user named '{owner}'.") from None
        try:
            room = create_room(
                slug=slug, owner=owner_user, title=title, is_private=private
            )
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        kind = "private" if room.is_private else "public"
        owned = f", owned by {owner_user.username}" if owner_user else ", no owner"
        self.stdout.write(f"Created {kind} room '{room.slug}' ({room.title}){owned}.")
