"""The audit log: one append-only entry per moderation action.

Every service that acts on someone else in a room (roles, kicks, bans, mutes,
invites, deletions of others' messages, resolved reports) records here, in the
same transaction as the action: the log never tells of something undone, nor
misses something done. Nothing changes or deletes an entry.
"""

from django.db.models import QuerySet

from accounts.models import User
from chat.models import AuditEntry, Conversation

ACTIONS = frozenset(AuditEntry.Action.values)


def record(
    *,
    actor: User | None,
    action: str,
    room: Conversation | None,
    target: User | None = None,
    reason: str = "",
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry; `actor` None is the system (a command, the admin)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.username if actor is not None else "",
        action=action,
        target=target,
        target_name=target.username if target is not None else "",
        room=room,
        room_slug=(room.slug or "") if room is not None else "",
        reason=reason or "",
        detail=detail or {},
    )


def room_entries(room: Conversation, *, before: int | None = None) -> QuerySet:
    """A room's entries, newest first (below id `before` if given)."""
    entries = AuditEntry.objects.filter(room=room)
    if before is not None:
        entries = entries.filter(id__lt=before)
    return entries.order_by("-id")
