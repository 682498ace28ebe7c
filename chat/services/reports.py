"""Reports of messages: made by readers, judged by the room's moderators.

A report keeps the message as it was when reported (its snapshot), so that
an edit or a deletion after it changes nothing of what the moderators see.
Resolving one acts through the services everything else uses (a deletion is
chat.services.changes', a mute or ban chat.services.moderation's), resolves
every open report of that message at once, and is written to the audit log in
the same transaction as the action.
"""

from contextlib import suppress

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from chat import events
from chat.errors import InvalidInput, NotFound
from chat.models import AuditEntry, Membership, Message, Report
from chat.selectors import MAX_ID, room_by_slug, with_message_relations
from chat.text import is_storable

from . import audit, changes, moderation
from .restrictions import require_moderator
from .rooms import clean_reason

MAX_REASON_LENGTH = 1000
ACTIONS = tuple(Report.Action.values)


def _reason(value) -> str:
    if value is None:
        return ""
    if (
        not isinstance(value, str)
        or len(value) > MAX_REASON_LENGTH
        or not is_storable(value)
    ):
        raise InvalidInput(
            "invalid",
            f"'reason' must be text of at most {MAX_REASON_LENGTH} characters.",
        )
    return value.strip()


def snapshot(message: Message) -> dict:
    """The message as the report keeps it (as frames showed it then)."""
    payload = events.message_payload(message)
    return {
        "id": message.id,
        "body": payload["body"],
        "sender": payload["sender"],
        "created_at": payload["created_at"],
        "edited_at": payload["edited_at"],
        "attachments": payload["attachments"],
    }


def report_payload(report: Report) -> dict:
    """A report as the room's moderators see it."""
    return {
        "id": report.pk,
        "room": report.conversation.slug,
        "message_id": report.message_ref,
        "message": report.snapshot,
        "reporter": events.user_payload(report.reporter),
        "reason": report.reason,
        "created_at": events.isoformat(report.created_at),
        "status": report.status,
        "action": report.action or None,
        "resolved_by": events.user_payload(report.resolved_by)
        if report.resolved_by
        else None,
        "resolved_at": events.isoformat(report.resolved_at)
        if report.resolved_at
        else None,
    }


def _readable_message(user: User, message_id) -> Message:
    """The live message `user` may read (a member of its conversation)."""
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise NotFound("No such message.")
    if not 1 <= message_id <= MAX_ID:
        raise NotFound("No such message.")
    message = (
        with_message_relations(Message.objects.all())
        .filter(id=message_id, deleted_at__isnull=True)
        .first()
    )
    if (
        message is None
        or not Membership.objects.filter(
            user=user, conversation_id=message.conversation_id
        ).exists()
    ):
        # One answer for "no such message" and "not yours to see".
        raise NotFound("No such message.")
    return message


def report_message(*, user: User, message_id, reason="") -> tuple[Report, bool]:
    """Report a message one can read: the open report and whether it is new.

    A second report of the same message by the same user, while the first is
    open, is the first one (its reason unchanged).
    """
    text = _reason(reason)
    message = _readable_message(user, message_id)
    if message.sender_id == user.pk:
        raise InvalidInput("invalid", "You cannot report your own message.")
    open_report = Report.objects.filter(
        reporter=user, message_ref=message.pk, status=Report.Status.OPEN
    )
    existing = open_report.select_related("conversation", "reporter").first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(
                conversation=message.conversation,
                message=message,
                message_ref=message.pk,
                reporter=user,
                reason=text,
                snapshot=snapshot(message),
            )
    except IntegrityError:
        # Reported at the same moment from another connection: that one.
        return open_report.select_related("conversation", "reporter").get(), False
    return report, True


def open_reports(*, slug, actor: User | None = None) -> list[Report]:
    """A room's open reports, the oldest first; `actor` must moderate it."""
    room = room_by_slug(slug)
    require_moderator(actor=actor, room=room, what="sees its reports")
    return list(
        Report.objects.filter(conversation=room, status=Report.Status.OPEN)
        .select_related("conversation", "reporter", "resolved_by")
        .order_by("id")
    )


def _report_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotFound("No such open report.")
    if not 1 <= value <= MAX_ID:
        raise NotFound("No such open report.")
    return value


def resolve_report(
    *,
    slug,
    report_id,
    action,
    actor: User | None = None,
    reason="",
    expires_in=None,
) -> Report:
    """Resolve an open report of a room: dismiss it, delete the message, or
    mute or ban its sender (for `expires_in` seconds, None: until lifted).

    Every open report of the same message is resolved with it. A message
    deleted meanwhile counts as deleted. `actor` must moderate the room; None
    is trusted (the system; it cannot delete, which needs a user).
    """
    room = room_by_slug(slug)
    require_moderator(actor=actor, room=room, what="resolves its reports")
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidInput("invalid", f"'action' must be one of: {', '.join(ACTIONS)}.")
    text = clean_reason(reason)
    with transaction.atomic():
        report = (
            Report.objects.select_for_update(of=("self",))
            .select_related("conversation", "reporter")
            .filter(
                pk=_report_id(report_id),
                conversation=room,
                status=Report.Status.OPEN,
            )
            .first()
        )
        if report is None:
            raise NotFound(f"No open report with this id in '{room.slug}'.")
        sender = User.objects.filter(pk=report.snapshot["sender"]["id"]).first()
        _act(
            report,
            action,
            actor=actor,
            sender=sender,
            reason=text,
            expires_in=expires_in,
        )
        now = timezone.now()
        resolved = list(
            Report.objects.select_for_update()
            .filter(
                conversation=room,
                message_ref=report.message_ref,
                status=Report.Status.OPEN,
            )
            .values_list("pk", flat=True)
        )
        Report.objects.filter(pk__in=resolved).update(
            status=Report.Status.RESOLVED,
            action=action,
            resolved_by=actor,
            resolved_at=now,
            resolution_reason=text,
        )
        audit.record(
            actor=actor,
            action=AuditEntry.Action.REPORT_RESOLVED,
            room=room,
            target=sender,
            reason=text,
            detail={
                "report": report.pk,
                "reports": resolved,
                "message": report.message_ref,
                "action": action,
            },
        )
    report.refresh_from_db()
    return report


def _act(
    report: Report,
    action: str,
    *,
    actor: User | None,
    sender: User | None,
    reason: str,
    expires_in,
) -> None:
    """What resolving `report` with `action` does, through the usual services."""
    if action == Report.Action.DISMISS:
        return
    if action == Report.Action.DELETE:
        if actor is None:
            raise InvalidInput("invalid", "Deleting a message needs a user to act.")
        # Deleted (or purged) since it was reported: that is done already.
        with suppress(NotFound):
            changes.delete_message(user=actor, message_id=report.message_ref)
        return
    if sender is None:
        raise NotFound("The sender of this message no longer exists.")
    restrict = moderation.mute if action == Report.Action.MUTE else moderation.ban
    restrict(
        slug=report.conversation.slug,
        username=sender.username,
        actor=actor,
        reason=reason,
        expires_in=expires_in,
    )
