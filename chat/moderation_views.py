"""The pages of moderation: an invite link, a room's reports queue, its audit log.

The invite page and the two room pages render from the same services and
selectors as the API (chat.services.invites, reports, audit); the reports
queue's actions are the browser client's calls to the API
(static/chat/views/reports.js).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import ChatError, NotFound
from .selectors import is_member, is_moderator, parse_cursor, room_by_slug
from .services import audit
from .services.invites import accept_invite, usable_invite
from .services.reports import open_reports
from .services.restrictions import require_not_banned
from .views import page_data, shell_context

AUDIT_PAGE = 50

# What the audit page says each action was (AuditEntry.Action's values).
ACTION_LABELS = {
    "role_changed": gettext_lazy("changed the role of"),
    "kicked": gettext_lazy("removed"),
    "banned": gettext_lazy("banned"),
    "unbanned": gettext_lazy("lifted the ban of"),
    "muted": gettext_lazy("muted the member"),
    "unmuted": gettext_lazy("lifted the mute of"),
    "invite_created": gettext_lazy("made an invite link"),
    "invite_revoked": gettext_lazy("revoked an invite link"),
    "message_deleted": gettext_lazy("deleted a message of"),
    "report_resolved": gettext_lazy("resolved a report about"),
}


@login_required
def invite(request, code):
    """The room's title and a join button (GET); the POST joins, then the room.

    A stranger logs in first and comes back here (login_required's `next`).
    """
    try:
        found = usable_invite(code)
    except NotFound:
        return render(request, "chat/invite_invalid.html", status=404)
    room = found.conversation
    if request.method == "POST":
        try:
            room, joined = accept_invite(code=code, user=request.user)
        except NotFound:
            return render(request, "chat/invite_invalid.html", status=404)
        except ChatError as refused:
            return render(
                request,
                "chat/invite.html",
                {"room": room, "refused": refused.detail},
                status=403,
            )
        if joined:
            messages.success(request, _("You joined %(room)s.") % {"room": room.title})
        return redirect("room", slug=room.slug)
    member = is_member(user=request.user, conversation=room)
    refused = None
    if not member:
        try:
            require_not_banned(room=room, user=request.user)
        except ChatError as ban:
            refused = ban.detail
    return render(
        request,
        "chat/invite.html",
        {"room": room, "member": member, "refused": refused},
    )


def _moderated_room(request, slug):
    """The room, if the user may moderate it; else the page to answer with."""
    try:
        room = room_by_slug(slug)
    except ChatError:
        return None, render(request, "chat/missing.html", {"slug": slug}, status=404)
    if not (
        request.user.is_staff or is_moderator(user=request.user, conversation=room)
    ):
        return None, render(request, "403.html", status=403)
    return room, None


def _room_page_data(request, room, page: str) -> dict:
    return page_data(request, page=page, room=room.slug, title=room.title)


@login_required
def reports(request, slug):
    """A room's open reports, each with the message as it was reported."""
    room, refusal = _moderated_room(request, slug)
    if refusal is not None:
        return refusal
    return render(
        request,
        "chat/reports.html",
        {
            **shell_context(request),
            "room": room,
            "reports": open_reports(slug=room.slug),
            "page_data": _room_page_data(request, room, "reports"),
        },
    )


@login_required
def audit_log(request, slug):
    """A room's audit log, the newest first, a page at a time (`?before=<id>`)."""
    room, refusal = _moderated_room(request, slug)
    if refusal is not None:
        return refusal
    try:
        before = parse_cursor(request.GET.get("before"), name="before")
    except ChatError:
        before = None
    entries = list(audit.room_entries(room, before=before)[: AUDIT_PAGE + 1])
    older = entries[AUDIT_PAGE - 1].pk if len(entries) > AUDIT_PAGE else None
    for entry in entries:
        entry.label = ACTION_LABELS.get(entry.action, entry.action)
    return render(
        request,
        "chat/audit.html",
        {
            **shell_context(request),
            "room": room,
            "entries": entries[:AUDIT_PAGE],
            "older": older,
            "page_data": _room_page_data(request, room, "audit"),
        },
    )
