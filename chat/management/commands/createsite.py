"""`manage.py createsite <name> --origin <url> --agent <username>`: a support
site, as chat.services.support makes it; prints its public key alone."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat.errors import ChatError
from chat.services.support import create_site


class Command(BaseCommand):
    help = "Make a customer-support site; prints its public key (the snippet's)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            required=True,
            help="An origin the widget may be used on (repeatable).",
        )
        parser.add_argument(
            "--agent",
            action="append",
            default=[],
            metavar="USERNAME",
            help="A user of the support team (repeatable).",
        )
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--capacity", type=int, default=3)

    def handle(self, *args, name, origin, agent, time_zone, capacity, **options):
        agents = []
        for username in agent:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user named '{username}'.")
            agents.append(user)
        if capacity < 1:
            raise CommandError("--capacity must be 1 or more.")
        try:
            site = create_site(
                name=name,
                origins=origin,
                agents=agents,
                time_zone=time_zone,
                capacity=capacity,
            )
        except ChatError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(site.public_key)
