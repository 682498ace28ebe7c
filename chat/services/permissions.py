"""Who may moderate a room: staff anywhere, a room's owners and moderators there."""

from accounts.models import User
from chat.errors import Forbidden
from chat.models import Conversation, Membership

MODERATING_ROLES = (Membership.Role.OWNER, Membership.Role.MODERATOR)


def can_moderate(user: User, room: Conversation) -> bool:
    """Staff, or an owner or moderator of `room`."""
    if user.is_staff:
        return True
    return Membership.objects.filter(
        user=user, conversation=room, role__in=MODERATING_ROLES
    ).exists()


def require_moderator(actor: User, room: Conversation, what: str) -> None:
    """Forbidden unless `actor` may moderate `room`; `what` ends the sentence."""
    if not can_moderate(actor, room):
        raise Forbidden(f"Only an owner or a moderator of '{room.slug}' {what}.")
