"""A user's email address, its verification, and their notification settings.

An address is verified by a signed link sent to it (`verification_token`, good
for VERIFY_MAX_AGE); nothing but that email and the password reset goes to an
unverified one. The missed-message emails (chat.services.email_digest) carry a
signed unsubscribe link (`unsubscribe_token`) that needs no log-in. The push
subscriptions the account page registers are stored here too.
"""

import logging

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from .models import PushSubscription, User

logger = logging.getLogger(__name__)

VERIFY_SALT = "accounts.email.verify"
UNSUBSCRIBE_SALT = "accounts.email.unsubscribe"
VERIFY_MAX_AGE = 3 * 24 * 3600


def site_url(path: str) -> str:
    """An absolute link to `path` on this site (settings.CHAT_SITE_URL)."""
    return f"{settings.CHAT_SITE_URL}{path}"


def verification_token(user: User) -> str:
    """A signed, timed token naming the user and the address to verify."""
    return signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)


def verify_email(token: str) -> User | None:
    """Mark the address a verification link names as verified; the user, or None
    if the link is forged, expired, or for an address the user no longer has."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
        user_id, email = int(data["u"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not email or user.email != email:
        return None
    if user.verified_email != email:
        User.objects.filter(pk=user.pk, email=email).update(verified_email=email)
        user.verified_email = email
    return user


def send_verification(user: User, *, link_base: str | None = None) -> None:
    """Email the signed verification link to the user's (unverified) address.

    `link_base` is the scheme and host the page was asked on, if known.
    """
    if not user.email or user.email_verified:
        return
    path = reverse("email-verify", args=[verification_token(user)])
    link = f"{link_base}{path}" if link_base else site_url(path)
    context = {"user": user, "link": link}
    send_mail(
        _("Confirm your email address"),
        render_to_string("email/verify.txt", context),
        None,
        [user.email],
    )


def set_email(user: User, email: str, *, link_base: str | None = None) -> bool:
    """Give the user a new address (unverified until its link is opened) and send
    the link; False if it is the address they have already."""
    email = User.objects.normalize_email(email.strip())
    if email == user.email:
        return False
    user.email = email
    user.save(update_fields=["email"])
    if email:
        transaction.on_commit(lambda: send_verification(user, link_base=link_base))
    return True


def set_email_notifications(user: User, on: bool) -> None:
    """Turn the missed-message emails on or off."""
    if user.email_notifications != on:
        user.email_notifications = on
        user.save(update_fields=["email_notifications"])


def unsubscribe_token(user: User) -> str:
    """The signed token of a one-click unsubscribe link (no expiry: it is in
    emails that may be read months later, and it only turns email off)."""
    return signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT)


def unsubscribe(token: str) -> User | None:
    """Turn email off for the user the link names; None if it is not ours."""
    try:
        user_id = int(signing.loads(token, salt=UNSUBSCRIBE_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        set_email_notifications(user, False)
    return user


def unsubscribe_url(user: User) -> str:
    return site_url(reverse("email-unsubscribe", args=[unsubscribe_token(user)]))


def save_push_subscription(
    *, user: User, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Store a browser's subscription (an endpoint seen before changes hands)."""
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth}
    )
    return subscription


def delete_push_subscription(*, user: User, endpoint: str) -> bool:
    """Forget one of the user's subscriptions; False if they had none there."""
    deleted, _rows = PushSubscription.objects.filter(
        user=user, endpoint=endpoint
    ).delete()
    return bool(deleted)
