"""`manage.py createtoken <username>`: make an API token and print it, once."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.tokens import create_token

MAX_EXPIRES_DAYS = 3650


class Command(BaseCommand):
    help = (
        "Make an API token for a user. The token is printed once, alone on "
        "stdout (a description goes to stderr); only its digest is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="A label for the token.")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Days until the token expires (default: never).",
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
