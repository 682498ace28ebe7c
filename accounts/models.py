"""Users and their API tokens."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """The project's own user model, so that fields can be added later."""

    # The address `email` held when its owner opened the signed link sent to it
    # (accounts.email): `email` is verified while the two are the same, so that
    # changing it needs a new verification. Unverified addresses get nothing.
    verified_email = models.EmailField(blank=True, default="")
    # Email for the direct messages and mentions missed (chat.services.email_digest);
    # turned off on the account page or by the signed unsubscribe link.
    email_notifications = models.BooleanField(default=True)
    # The language of their pages, as last chosen or sent by their browser
    # (accounts.language): what email sent with no request to ask is written in.
    language = models.CharField(max_length=16, blank=True, default="")

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def email_verified(self) -> bool:
        return bool(self.email) and self.email == self.verified_email


def usable_at(now: datetime) -> models.Q:
    """The one rule for a usable token: not revoked, not expired, its user active.

    The admin's filter, tickets and the lookup by prefix (accounts.tokens, which
    compiles this into its SQL) all use it.
    """
    return (models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)) & (
        models.Q(revoked_at__isnull=True, user__is_active=True)
    )


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> "ApiTokenQuerySet":
        """Tokens that are neither revoked nor expired, of active users."""
        return self.filter(usable_at(timezone.now()))


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 digest and a short visible prefix are kept.

    The plaintext is shown once, when the token is made (accounts.tokens).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    # Set by the lookup at authentication (accounts.tokens): whether this use
    # is to be written to last_used_at.
    use_due: bool

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class WebSocketTicket(models.Model):
    """A short-lived, single-use ticket for opening one WebSocket (`?ticket=`).

    Only the digest is kept. A ticket made with a token remembers it, so that
    revoking the token also closes the connection the ticket opened.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=40, blank=True, default="")
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"ticket of {self.user_id} until {self.expires_at:%H:%M:%S}"


class PushSubscription(models.Model):
    """One browser's Web Push subscription (its endpoint and keys, as the
    browser's PushSubscription.toJSON() gives them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="push_subscriptions",
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"push subscription {self.pk} of {self.user_id}"

    def info(self) -> dict:
        """What pywebpush takes as subscription_info."""
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }
