"""`manage.py createtoken <username>`: make an API token and print it, once."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.tokens import create_token
from chatsite.arguments import text, whole_number

MAX_EXPIRES_DAYS = 3650
USERNAME_MAX = User._meta.get_field("username").max_length


class Command(BaseCommand):
    help = (
        "Make an API token for a user. The token is printed once, alone on "
        "stdout (a description goes to stderr); only its digest is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", type=text(max_length=USERNAME_MAX))
        parser.add_argument(
            "--name",
            type=text(max_length=100),
            default="cli",
            help="A label for the token, at most 100 characters.",
        )
        parser.add_argument(
            "--expires-days",
            type=whole_number(low=1, high=MAX_EXPIRES_DAYS),
            default=None,
            help=f"Days until the token expires, 1-{MAX_EXPIRES_DAYS} "
            "(default: never).",
        )

    def handle(self, *args, username, name, expires_days, **options):
        if len(name) > 100:
            raise CommandError("--name is at most 100 characters.")
        if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
            raise CommandError(f"--expires-days must be from 1 to {MAX_EXPIRES_DAYS}.")
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named '{username}'.") from None
        if not user.is_active:
            raise CommandError(
                f"User '{username}' is inactive: a token would not work."
            )
        token, plaintext = create_token(user=user, name=name, expires_days=expires_days)
        expires = token.expires_at.isoformat() if token.expires_at else "never"
        # stdout holds the token alone, so that TOKEN=$(manage.py createtoken u)
        # works; what it is goes to stderr for the person at the terminal.
        self.stderr.write(
            f"Token {token.prefix}… ('{token.name}') for {user.username}, "
            f"expires {expires}. It is shown this once."
        )
        self.stdout.write(plaintext)
