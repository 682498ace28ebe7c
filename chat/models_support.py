"""Customer support: sites with a widget, their visitors, and the support
conversations between a visitor and a site's team (docs/protocol.md, "Support").

Data and constraints only; chat.services.support holds every write.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_public_key() -> str:
    """The key the snippet names the site by: public, but unguessable."""
    return f"site_{secrets.token_urlsafe(18)}"


def new_secret() -> str:
    """The key of the data-user-hash HMAC: shown to the site's owner only."""
    return secrets.token_urlsafe(32)


class SupportSite(models.Model):
    """A website with the widget, and the team of agents answering it."""

    class Field(models.TextChoices):
        OFF = "off", "Off"
        OPTIONAL = "optional", "Optional"
        REQUIRED = "required", "Required"

    name = models.CharField(max_length=200)
    public_key = models.CharField(max_length=64, unique=True, default=new_public_key)
    secret = models.CharField(max_length=64, default=new_secret)
    # Origins the widget may be embedded on, one per line
    # ("https://shop.example"): its frame's frame-ancestors, its socket's check.
    allowed_origins = models.TextField(blank=True)
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="support_sites"
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    # Weekly ranges: [{"day": 0-6 (Monday 0), "start": "09:00", "end": "17:00"}];
    # an end at or before the start runs past midnight. Empty: always open.
    business_hours = models.JSONField(default=list, blank=True)
    # Days closed all day, in the site's time zone: ["2026-12-25", ...].
    holidays = models.JSONField(default=list, blank=True)
    greeting = models.TextField(max_length=1000, blank=True)
    prechat_name = models.CharField(
        max_length=8, choices=Field.choices, default=Field.OPTIONAL
    )
    prechat_email = models.CharField(
        max_length=8, choices=Field.choices, default=Field.OPTIONAL
    )
    offline_message = models.TextField(max_length=1000, blank=True)
    capacity = models.PositiveIntegerField(default=3)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        return [
            line.strip().rstrip("/")
            for line in self.allowed_origins.splitlines()
            if line.strip()
        ]


class SupportTeam(models.Model):
    """A named team of agents (admin-managed), which a conversation can be
    transferred to: it is then routed to the team's agents, who may see and
    work on it beside the site's own."""

    name = models.CharField(max_length=100, unique=True)
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="support_teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    """Someone on a site's page; no sign-up. Backed by a user of its own that
    can never log in, so that a visitor's messages, memberships and `sync` are
    the members' own (the visitor socket allows nothing else)."""

    site = models.ForeignKey(
        SupportSite, on_delete=models.CASCADE, related_name="visitors"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="visitor"
    )
    # The site's own id of its user (data-user-id), checked by data-user-hash.
    external_id = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    page_url = models.URLField(max_length=2000, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "external_id"],
                condition=~models.Q(external_id=""),
                name="visitor_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"visitor {self.pk}"

    @property
    def display_name(self) -> str:
        return self.name or f"Visitor {self.pk}"


class SupportConversation(models.Model):
    """The support side of a conversation of kind "support"."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        OFFERED = "offered", "Offered"
        ASSIGNED = "assigned", "Assigned"
        CLOSED = "closed", "Closed"

    conversation = models.OneToOneField(
        "chat.Conversation",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="support",
    )
    site = models.ForeignKey(
        SupportSite, on_delete=models.CASCADE, related_name="conversations"
    )
    visitor = models.ForeignKey(
        Visitor, on_delete=models.CASCADE, related_name="conversations"
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="support_conversations",
    )
    # Offered to this agent (status "offered") until offered_at plus
    # SUPPORT_ACCEPT_SECONDS; agents who let it pass are not offered it again.
    offered_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    # Transferred to this team: routed to its agents (null: the site's).
    team = models.ForeignKey(
        SupportTeam,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    passed_by = models.JSONField(default=list, blank=True)
    # Left outside business hours or with no one online (the offline form).
    offline = models.BooleanField(default=False)
    queued_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["queued_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True)
                | models.Q(rating__gte=1, rating__lte=5),
                name="support_rating_1_to_5",
            )
        ]
        indexes = [
            models.Index(fields=["site", "status"], name="support_site_status"),
            models.Index(fields=["agent", "status"], name="support_agent_status"),
        ]

    def __str__(self) -> str:
        return f"support {self.pk} ({self.status})"


class SupportOpening(models.Model):
    """One (re)opening of a support conversation until its close: what the
    first response and resolution times are counted from."""

    support = models.ForeignKey(
        SupportConversation, on_delete=models.CASCADE, related_name="openings"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["opened_at", "pk"]

    def __str__(self) -> str:
        return f"opening {self.pk} of {self.support_id}"


class SupportNote(models.Model):
    """An internal note of the team on a support conversation: never a
    message, so no path to the visitor exists (it is sent to agents only)."""

    support = models.ForeignKey(
        SupportConversation, on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(max_length=4000)
    # A transfer's note: shown first to the agent it was handed to.
    transfer_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A transfer to a team: shown first to that team's agents.
    transfer_team = models.ForeignKey(
        SupportTeam,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.support_id}"
