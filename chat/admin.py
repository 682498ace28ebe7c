"""Admin for rooms, their members, and messages.

Every change with a live side effect goes through chat.services, as it does from
the consumer, the API and the commands: a room is made by create_room, changed
by update_room and deleted by delete_room, a member is added or removed by
add_member/remove_member (so their open connections join or leave the room's
group at once), and messages are read-only here (they are posted through
send_message by clients and `manage.py postmessage`). Uploads are read-only
too: they enter through POST /api/uploads/ and leave with their message
(chat.services.uploads purges them). A message's page shows
its edits (the bodies it had before) and its deletion (when, by whom; a deletion
takes the earlier bodies too); the one change made here, "delete for everyone",
goes through delete_message like a client's delete.

Bans and mutes are listed, and lifted through unban/unmute; the audit log is
listed and filtered, and nothing here can add, change or delete an entry.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.text import Truncator

from accounts.models import User

from .errors import ChatError, NotFound
from .models import (
    AuditEntry,
    Ban,
    Conversation,
    Invite,
    Membership,
    Message,
    MessageRevision,
    Mute,
    Report,
    Room,
    Upload,
)
from .selectors import room_owners, with_owners
from .services.changes import delete_message
from .services.invites import revoke_invite
from .services.moderation import unban, unmute
from .services.reports import resolve_report
from .services.restrictions import until_text
from .services.rooms import (
    add_member,
    create_room,
    delete_room,
    remove_member,
    update_room,
)


class MembershipInline(admin.TabularInline):
    """A room's members: add a row to add one, tick Delete to remove one."""

    model = Membership
    fields = ("user", "role", "joined_at", "last_read_id")
    readonly_fields = ("role", "joined_at", "last_read_id")
    autocomplete_fields = ("user",)
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_change_permission(self, request, obj=None):
        # Existing rows are shown read-only: a member is added or removed, never
        # swapped for another user in place.
        return False


class RoomForm(forms.ModelForm):
    # Not a column: a new room's owner becomes its first, owner-role member.
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        help_text="Its first member, with the owner role.",
    )

    class Meta:
        model = Room
        fields = ("slug", "title", "is_private")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            # Nullable in the table (direct conversations have none), not for a room.
            self.fields["slug"].required = True


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    form = RoomForm
    list_display = (
        "slug",
        "title",
        "is_private",
        "owners",
        "member_count",
        "created_at",
    )
    list_filter = ("is_private",)
    search_fields = ("slug", "title")
    ordering = ("slug",)
    inlines = [MembershipInline]

    def get_queryset(self, request):
        rooms = super().get_queryset(request).annotate(members=Count("memberships"))
        return with_owners(rooms)

    @admin.display(description="members", ordering="members")
    def member_count(self, room: Room) -> int:
        return room.members

    @admin.display(description="owners")
    def owners(self, room: Room) -> str:
        return ", ".join(user.username for user in room_owners(room)) or "-"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("slug", "title", "is_private", "owner")
        return ("slug", "title", "is_private", "owners")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # The slug names the room in every frame; owners are members' roles.
        return ("slug", "owners")

    def save_model(self, request, obj, form, change):
        if change:
            # The form has set obj's fields already: compare with the stored row.
            stored = Room.objects.get(pk=obj.pk)
            update_room(room=stored, title=obj.title, is_private=obj.is_private)
            return
        room = create_room(
            slug=obj.slug,
            owner=form.cleaned_data.get("owner"),
            title=obj.title,
            is_private=obj.is_private,
        )
        # The admin goes on with its own instance (inlines, the log, redirects).
        obj.pk = room.pk
        obj.kind = room.kind
        obj.title = room.title
        obj.created_at = room.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        delete_room(room=obj)

    def delete_queryset(self, request, queryset):
        for room in queryset:
            delete_room(room=room)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        room = form.instance
        # The change log reads these lists, which formset.save() would have made.
        formset.new_objects = []
        formset.changed_objects = []
        formset.deleted_objects = []
        for membership_form in formset.deleted_forms:
            membership = membership_form.instance
            if membership.pk is None:
                continue
            if self._apply(request, remove_member, room, membership.user):
                formset.deleted_objects.append(membership)
        for membership_form in formset.extra_forms:
            if not membership_form.has_changed() or membership_form in (
                formset.deleted_forms
            ):
                continue
            user = membership_form.cleaned_data["user"]
            if self._apply(request, add_member, room, user):
                formset.new_objects.append(
                    Membership.objects.get(conversation=room, user=user)
                )
        return None

    def _apply(self, request, service, room: Room, user) -> bool:
        """Run a membership service; report a refusal instead of failing."""
        try:
            _, _, changed = service(
                slug=room.slug, username=user.username, actor=request.user
            )
        except ChatError as exc:
            self.message_user(request, f"{user}: {exc.detail}", messages.ERROR)
            return False
        return changed


class RoomListFilter(admin.SimpleListFilter):
    title = "room"
    parameter_name = "room"

    def lookups(self, request, model_admin):
        slugs = Room.objects.order_by("slug").values_list("slug", flat=True)
        return [(slug, slug) for slug in slugs]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                conversation__kind=Conversation.Kind.ROOM,
                conversation__slug=self.value(),
            )
        return queryset


class MessageRevisionInline(admin.TabularInline):
    """A message's edits: each body it had, and when it was replaced."""

    model = MessageRevision
    fields = ("replaced_at", "body")
    readonly_fields = ("replaced_at", "body")
    ordering = ("id",)
    extra = 0
    can_delete = False
    verbose_name = "earlier body"
    verbose_name_plural = "edits (the bodies it had before)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("edited", "edited"), ("deleted", "deleted")]

    def queryset(self, request, queryset):
        if self.value() == "edited":
            return queryset.filter(edited_at__isnull=False)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Messages, read-only: they enter through send_message, never a form."""

    list_display = (
        "id",
        "conversation_label",
        "sender",
        "excerpt",
        "state",
        "created_at",
    )
    list_filter = (
        RoomListFilter,
        "conversation__kind",
        StateFilter,
        ("sender", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = (
        "sender",
        "deleted_by",
        "conversation__direct_low",
        "conversation__direct_high",
    )
    search_fields = ("body", "sender__username")
    fields = (
        "id",
        "conversation",
        "sender",
        "body",
        "client_id",
        "created_at",
        "reply_to",
        "mentions",
        "reactions",
        "edited_at",
        "deleted_at",
        "deleted_by",
    )
    ordering = ("-id",)
    show_full_result_count = False
    inlines = [MessageRevisionInline]
    actions = ["delete_for_everyone"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="conversation", ordering="conversation")
    def conversation_label(self, message: Message) -> str:
        conversation = message.conversation
        if conversation.is_room:
            return f"#{conversation.slug}"
        return f"{conversation.direct_low} ↔ {conversation.direct_high}"

    @admin.display(description="body")
    def excerpt(self, message: Message) -> str:
        return Truncator(message.body).chars(80)

    @admin.display(description="state")
    def state(self, message: Message) -> str:
        if message.deleted_at is not None:
            return f"deleted by {message.deleted_by or '-'}"
        if message.edited_at is not None:
            return "edited"
        return ""

    @admin.action(description="Delete for everyone (a tombstone, told live)")
    def delete_for_everyone(self, request, queryset):
        """As a client's delete: the body emptied, the id kept, clients told."""
        deleted = 0
        for message in queryset.filter(deleted_at__isnull=True).order_by("id"):
            try:
                delete_message(user=request.user, message_id=message.pk)
            except ChatError as exc:
                self.message_user(
                    request, f"#{message.pk}: {exc.detail}", messages.ERROR
                )
                continue
            deleted += 1
        noun = "message" if deleted == 1 else "messages"
        self.message_user(request, f"Deleted {deleted} {noun} for everyone.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only: listed, never added or changed here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    """Uploads, read-only: who stored what, where it is attached, when it goes.

    No delete either: a file leaves with its message (or unattached, after
    CHAT_UPLOAD_PURGE_HOURS), through chat.services.uploads, which removes the
    stored files as well as the row.
    """

    list_display = (
        "id",
        "name",
        "owner",
        "size",
        "content_type",
        "message",
        "created_at",
        "purge_after",
    )
    list_filter = ("content_type", ("owner", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username")
    readonly_fields = (
        "owner",
        "name",
        "size",
        "content_type",
        "file",
        "thumbnail",
        "width",
        "height",
        "message",
        "created_at",
        "attached_at",
        "purge_after",
    )
    exclude = ("key",)
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: append-only, so not even a superuser deletes an entry."""

    list_display = (
        "created_at",
        "room_slug",
        "action",
        "actor_name",
        "target_name",
        "reason",
    )
    list_filter = ("action", "created_at", "room_slug")
    search_fields = ("room_slug", "actor_name", "target_name", "reason")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    show_full_result_count = False
    fields = (
        "created_at",
        "action",
        "room",
        "room_slug",
        "actor",
        "actor_name",
        "target",
        "target_name",
        "reason",
        "detail",
    )
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False


class RestrictionAdmin(ReadOnlyAdmin):
    """Bans or mutes in force and past; lifting one goes through its service."""

    list_display = ("room", "user", "actor", "reason", "created_at", "until")
    list_select_related = ("room", "user", "actor")
    search_fields = ("room__slug", "user__username", "reason")
    ordering = ("-created_at",)
    actions = ["lift"]
    lift_service = staticmethod(unban)

    @admin.display(description="until", ordering="expires_at")
    def until(self, restriction) -> str:
        return until_text(restriction.expires_at) or "lifted by hand"

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Lift (logged, as from the room's page)")
    def lift(self, request, queryset):
        lifted = 0
        for restriction in queryset.select_related("room", "user"):
            try:
                self.lift_service(
                    slug=restriction.room.slug,
                    username=restriction.user.username,
                    actor=request.user,
                )
            except ChatError as exc:
                self.message_user(
                    request, f"{restriction}: {exc.detail}", messages.ERROR
                )
                continue
            lifted += 1
        self.message_user(request, f"Lifted {lifted}.")


@admin.register(Ban)
class BanAdmin(RestrictionAdmin):
    lift_service = staticmethod(unban)


@admin.register(Mute)
class MuteAdmin(RestrictionAdmin):
    lift_service = staticmethod(unmute)


class ReportStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Report.Status.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    """Reports of messages, open first; resolving goes through resolve_report,
    as from the room's reports page (audited, every report of the message)."""

    list_display = (
        "id",
        "status",
        "room_label",
        "reported_sender",
        "reported_body",
        "reporter",
        "reason",
        "created_at",
        "action",
    )
    list_filter = (ReportStatusFilter, "action", "created_at")
    list_select_related = ("conversation", "reporter")
    search_fields = ("conversation__slug", "reporter__username", "reason")
    ordering = ("status", "id")  # "open" < "resolved": open ones first
    fields = (
        "conversation",
        "message_ref",
        "snapshot",
        "reporter",
        "reason",
        "created_at",
        "status",
        "action",
        "resolved_by",
        "resolved_at",
        "resolution_reason",
    )
    readonly_fields = fields
    actions = ["dismiss", "delete_the_messages"]

    @admin.display(description="room")
    def room_label(self, report: Report) -> str:
        return str(report.conversation)

    @admin.display(description="sender")
    def reported_sender(self, report: Report) -> str:
        return report.snapshot.get("sender", {}).get("username", "")

    @admin.display(description="message as reported")
    def reported_body(self, report: Report) -> str:
        return Truncator(report.snapshot.get("body", "")).chars(80)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _resolve(self, request, queryset, action: str) -> None:
        resolved = 0
        for report in queryset.filter(status=Report.Status.OPEN).order_by("id"):
            if not report.conversation.is_room:
                self.message_user(
                    request, f"Report {report.pk}: not in a room.", messages.ERROR
                )
                continue
            try:
                resolve_report(
                    slug=report.conversation.slug,
                    report_id=report.pk,
                    action=action,
                    actor=request.user,
                )
            except NotFound:
                continue  # resolved with an earlier report of the same message
            except ChatError as exc:
                self.message_user(
                    request, f"Report {report.pk}: {exc.detail}", messages.ERROR
                )
                continue
            resolved += 1
        self.message_user(request, f"Resolved {resolved}.")

    @admin.action(description="Dismiss (logged, as from the reports page)")
    def dismiss(self, request, queryset):
        self._resolve(request, queryset, Report.Action.DISMISS)

    @admin.action(description="Delete the reported messages for everyone")
    def delete_the_messages(self, request, queryset):
        self._resolve(request, queryset, Report.Action.DELETE)


@admin.register(Invite)
class InviteAdmin(ReadOnlyAdmin):
    """Invite links; revoking one goes through revoke_invite (audited)."""

    list_display = (
        "conversation",
        "code_start",
        "created_by",
        "created_at",
        "expires_at",
        "uses",
        "max_uses",
        "revoked_at",
    )
    list_select_related = ("conversation", "created_by")
    search_fields = ("conversation__slug",)
    ordering = ("-id",)
    exclude = ("code",)
    readonly_fields = (
        "conversation",
        "code_start",
        "created_by",
        "created_at",
        "expires_at",
        "max_uses",
        "uses",
        "revoked_at",
    )
    actions = ["revoke"]

    @admin.display(description="code")
    def code_start(self, invite: Invite) -> str:
        # Enough to tell links apart; the whole code is a key to the room.
        return f"{invite.code[:6]}…"

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Revoke (logged, as from the room's page)")
    def revoke(self, request, queryset):
        revoked = 0
        for invite in queryset.filter(revoked_at__isnull=True):
            revoke_invite(code=invite.code, actor=request.user)
            revoked += 1
        self.message_user(request, f"Revoked {revoked}.")


# Register the support pages and the canned replies.
from . import admin_canned, admin_support  # noqa: E402, F401
