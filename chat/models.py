"""Conversations, memberships and messages: data and constraints only.

Rooms and direct conversations share one table so that "every message visible to
me after id N" is one indexed query over my memberships, whatever the kind.
"""

import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,49}$",
    "A room name is 1-50 lower-case letters, digits, '-' or '_'.",
)


class Conversation(models.Model):
    """A room (named by a slug) or a direct conversation between two users."""

    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        DIRECT = "direct", "Direct"
        # A website visitor and the support team (chat.models_support).
        SUPPORT = "support", "Support"

    kind = models.CharField(max_length=7, choices=Kind.choices)
    slug = models.CharField(
        max_length=50, unique=True, null=True, blank=True, validators=[slug_validator]
    )
    title = models.CharField(max_length=200, blank=True)
    is_private = models.BooleanField(default=False)
    # A room's owners are its memberships with the owner role (Membership.role):
    # one source of truth, so that a room and its member list never disagree.
    # The two users of a direct conversation, the lower id first: one per pair.
    direct_low = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    direct_high = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="room", slug__isnull=False, direct_low__isnull=True)
                    | models.Q(
                        kind="direct",
                        slug__isnull=True,
                        direct_low__lt=models.F("direct_high"),
                    )
                    | models.Q(
                        kind="support",
                        slug__isnull=True,
                        direct_low__isnull=True,
                        direct_high__isnull=True,
                    )
                ),
                name="conversation_kind_fields",
            ),
            models.UniqueConstraint(
                fields=["direct_low", "direct_high"], name="direct_pair_unique"
            ),
        ]

    def __str__(self) -> str:
        if self.is_room:
            return self.slug
        if self.kind == self.Kind.SUPPORT:
            return f"support {self.pk}"
        return f"direct {self.direct_low_id}-{self.direct_high_id}"

    @property
    def is_room(self) -> bool:
        return self.kind == self.Kind.ROOM


class RoomManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Conversation.Kind.ROOM)


class Room(Conversation):
    """Rooms alone, for the admin and for code that deals only in rooms."""

    objects = RoomManager()

    class Meta:
        proxy = True


class Membership(models.Model):
    """A user in a conversation; in a room, with a role (owners manage it)."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MODERATOR = "moderator", "Moderator"
        MEMBER = "member", "Member"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_id = models.BigIntegerField(default=0)
    # Messages after last_read_id that mention this user (chat.services.mentions
    # keeps it: counted once per message, recounted when the read position moves).
    unread_mentions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "conversation"], name="membership_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.conversation}"


class Message(models.Model):
    """One message. Its id is global and increasing: the cursor of `sync`."""

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # PROTECT: a user with messages is deactivated, never deleted (their
    # messages are other people's history too; docs/security.md).
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages"
    )
    body = models.TextField(max_length=settings.CHAT_MAX_BODY_LENGTH)
    client_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # A message of the same conversation this one answers (null if none, or
    # once that one is purged).
    reply_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
    )
    # The ids of the users the body mentions (@all expanded), as frames show them.
    # chat.services.one_trip, which inserts rows with SQL of its own, sets
    # these two itself (a db_default would cost every ORM insert a RETURNING).
    mentions = models.JSONField(default=list, blank=True)
    # The whole reaction state as frames show it ([{"emoji", "count", "users"}]),
    # kept beside the Reaction rows so that reading a message needs no join.
    reactions = models.JSONField(default=list, blank=True)
    # The attached files as frames show them (events.upload_payload), copied
    # beside the Upload rows so that history and sync read them without a join.
    attachments = models.JSONField(default=list, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # A deleted message stays as a tombstone: its body is emptied, its
    # reactions removed, its id kept (replies and cursors still point at it).
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="message_client_id_unique"
            )
        ]
        indexes = [
            # History of one conversation, and "after id N" over my conversations.
            models.Index(fields=["conversation", "id"], name="message_conv_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.sender} in {self.conversation}"


class Reaction(models.Model):
    """One user's emoji on one message: at most one of each per user."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reaction_rows"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="reaction_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on #{self.message_id}"


class Mention(models.Model):
    """A user mentioned by a message: what unread-mention counts are counted from.

    `added_at` is set when an edit added the mention (null: it came with the
    message); the notifications job finds those by id (mention_added_by_edit).
    """

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="mention_rows"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+"
    )
    added_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="mention_unique")
        ]
        indexes = [
            models.Index(
                fields=["user", "conversation", "message"], name="mention_unread"
            ),
            # Only the few rows edits add: a new message's rows are not in it.
            models.Index(
                fields=["id"],
                condition=models.Q(added_at__isnull=False),
                name="mention_added_by_edit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in #{self.message_id}"


class MessageRevision(models.Model):
    """A body a message had before an edit: the admin's record of its edits."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="revisions"
    )
    body = models.TextField()
    # When this body was replaced.
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.message_id} before {self.replaced_at:%Y-%m-%d %H:%M}"


class MessageChange(models.Model):
    """One change to a stored message (edited, deleted, reactions), in the one
    change sequence: its id is the `change_id` clients catch up from.

    Ids commit in order, under the same lock as message ids (chat.ordering), so
    that a reader who saw change N never later sees a lower one appear. `frame`
    is the server frame as it went out, less its change_id. `message_id` is no
    foreign key: a change outlives a purged message for as long as it is kept
    (CHAT_CHANGE_RETENTION_DAYS).
    """

    class Kind(models.TextChoices):
        EDITED = "message.edited", "Edited"
        DELETED = "message.deleted", "Deleted"
        REACTIONS = "message.reactions", "Reactions"

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+"
    )
    message_id = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    frame = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["conversation", "id"], name="change_conv_id"),
        ]

    def __str__(self) -> str:
        return f"change {self.id}: {self.kind} #{self.message_id}"


class ChangeHorizon(models.Model):
    """One row: the highest change id pruned so far (0: none). A `changes_after`
    below it asks for changes no longer kept: the client must reset."""

    pruned_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"changes pruned through {self.pruned_through}"


def _upload_key() -> str:
    return secrets.token_urlsafe(24)


class Upload(models.Model):
    """A file a user uploaded, attached to at most one message.

    Reachable by its uploader until attached, then by whoever can see the
    message; `purge_after` is set when it becomes unreachable (its message
    deleted), and a job removes the stored files after it (chat.services.uploads).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    # In the URL beside the id: a URL is not guessable even by its id.
    key = models.CharField(max_length=40, unique=True, default=_upload_key)
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100)
    file = models.FileField(upload_to="uploads/%Y/%m/", max_length=255)
    thumbnail = models.FileField(
        upload_to="uploads/%Y/%m/", max_length=255, blank=True, default=""
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="uploads",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    attached_at = models.DateTimeField(null=True, blank=True)
    # Set once the file is unreachable: removed from storage after this.
    purge_after = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.size} bytes)"


class Restriction(models.Model):
    """What a ban and a mute share: one user, one room, until a time (or for good).

    A restriction whose `expires_at` has passed no longer holds: every check reads
    the time (chat.services.moderation), so that no job has to run first. Lifting
    one deletes its row; the audit log keeps the story.
    """

    room = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # None: until lifted.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def holds(self, now=None) -> bool:
        """Whether it is in force at `now` (the current time if not given)."""
        return self.expires_at is None or self.expires_at > (now or timezone.now())

    @staticmethod
    def in_force(now=None) -> models.Q:
        """A filter of the restrictions in force at `now` (default: the time)."""
        return models.Q(expires_at__isnull=True) | models.Q(
            expires_at__gt=now or timezone.now()
        )


class Ban(Restriction):
    """A user put out of a room, who may not come back while it holds."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="ban_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} banned from {self.room}"


class Mute(Restriction):
    """A user who still reads a room but may not write in it while it holds."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="mute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} muted in {self.room}"


class AuditEntry(models.Model):
    """One moderation action, as it happened: written once, never changed.

    Names are copied beside the foreign keys so that an entry still reads the
    same once its room or users are gone.
    """

    class Action(models.TextChoices):
        ROLE_CHANGED = "role_changed", "Role changed"
        KICKED = "kicked", "Kicked"
        BANNED = "banned", "Banned"
        UNBANNED = "unbanned", "Unbanned"
        MUTED = "muted", "Muted"
        UNMUTED = "unmuted", "Unmuted"
        INVITE_CREATED = "invite_created", "Invite created"
        INVITE_REVOKED = "invite_revoked", "Invite revoked"
        MESSAGE_DELETED = "message_deleted", "Message deleted"
        REPORT_RESOLVED = "report_resolved", "Report resolved"

    id = models.BigAutoField(primary_key=True)
    # None: the system (a manage.py command or the admin without a user).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    target_name = models.CharField(max_length=150, blank=True)
    room = models.ForeignKey(
        Conversation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    room_slug = models.CharField(max_length=50, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["room", "id"], name="audit_room_id"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} in {self.room_slug}"


class OutboxEvent(models.Model):
    """A channel-layer event from a process that cannot reach the server's layer.

    Only on the in-memory layer (no REDIS_URL): a `manage.py` command stores its
    events here and the daphne process publishes them (chat.realtime.relay). Rows are
    kept for minutes, not as history.
    """

    id = models.BigAutoField(primary_key=True)
    groups = models.JSONField()
    event = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"#{self.id} {self.event.get('type')} to {', '.join(self.groups)}"


class MissedMessage(models.Model):
    """A direct message or a mention to a user who may not have seen it: what
    the notifications job emails and pushes (chat.services.notifications).

    Made by the job from what was stored, never on the message path. `email_due_at`
    is set if the user was not online when it was sent (null: no email); the row
    is emailed with the rest of the user's batch then, unless read first.
    `pushed_at` is set once it was pushed; `cleared_at` once the silent "read"
    push went. A row with nothing left to do is deleted.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField()
    email_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "message"], name="missed_message_unique"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.message_id} missed by {self.user_id}"


class NotificationCursor(models.Model):
    """One row: the newest message id the notifications job has looked at, and
    the newest id of a Mention that an edit added (Mention.added_at).

    Its row lock (SELECT ... FOR UPDATE SKIP LOCKED) is what makes one process
    at a time run a round of the job.
    """

    last_message_id = models.BigIntegerField(default=0)
    last_edit_mention_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return (
            f"notifications looked through #{self.last_message_id} "
            f"and edit mention #{self.last_edit_mention_id}"
        )


def _invite_code() -> str:
    # 144 bits from secrets: a code cannot be guessed, only handed on.
    return secrets.token_urlsafe(18)


class Invite(models.Model):
    """A link that lets whoever holds it join a room (a private one, mostly).

    Usable until `expires_at` (null: no end), for `max_uses` joins (null: any
    number), unless revoked; chat.services.invites checks all three at use.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="invites"
    )
    code = models.CharField(max_length=40, unique=True, default=_invite_code)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"invite {self.code[:6]}… to {self.conversation}"


class Report(models.Model):
    """A reader's report of a message, with the message as it was reported.

    `snapshot` keeps body, sender, created_at and attachments from the moment
    of the report: what the moderators judge, even once the message is edited,
    deleted or purged. One open report per reporter and message.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Action(models.TextChoices):
        DISMISS = "dismiss", "Dismissed"
        DELETE = "delete", "Message deleted"
        MUTE = "mute", "Sender muted"
        BAN = "ban", "Sender banned"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="reports"
    )
    # SET_NULL: a report outlives its message's purge; message_ref keeps the id.
    message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    message_ref = models.BigIntegerField()
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField(max_length=1000, blank=True)
    snapshot = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )
    action = models.CharField(max_length=10, choices=Action.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.TextField(max_length=1000, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "message_ref"],
                condition=models.Q(status="open"),
                name="report_one_open_per_reporter",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "status", "id"], name="report_queue"),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} of #{self.message_ref} ({self.status})"


class Presence(models.Model):
    """A user's presence as last worked out from their connections' records
    (chat.realtime.presence), what others were last told of it, and the
    "hide my presence" setting (chat.services.presence)."""

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="presence",
    )
    status = models.CharField(
        max_length=7, choices=Status.choices, default=Status.OFFLINE
    )
    # The last moment the user was online: when they left it, or came to it.
    last_active_at = models.DateTimeField(null=True, blank=True)
    # What the others were last sent (a `presence` frame), and when: the
    # debounce, and what the sweep compares with.
    told = models.CharField(max_length=7, choices=Status.choices, default="offline")
    told_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["status"], name="presence_status")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class OnlineSpan(models.Model):
    """A stretch of time a user was online (not away): was_online_at reads them.
    Open (no ended_at) while it lasts; kept CHAT_PRESENCE_SPAN_DAYS."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "started_at"], name="online_span_user"),
            models.Index(fields=["ended_at"], name="online_span_ended"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.started_at}-{self.ended_at}"


# The customer-support models live beside these (one module per concern).
from .models_canned import CannedReply  # noqa: E402, F401
from .models_support import (  # noqa: E402, F401
    SupportConversation,
    SupportNote,
    SupportOpening,
    SupportSite,
    SupportTeam,
    Visitor,
)
