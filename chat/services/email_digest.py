"""The email of what a user missed: one per batch, everything pending for them.

Each item says who wrote what, where, and links to the conversation at that
message; the email carries a signed one-click unsubscribe link (also in the
List-Unsubscribe headers, RFC 8058). Sent through Django's email backend
(settings: EMAIL_*; the console unless EMAIL_HOST is set).
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from accounts.email import site_url, unsubscribe_url
from accounts.language import language_of
from accounts.models import User
from chat.models import Message


@dataclass(frozen=True)
class MissedItem:
    """One message of the email, as it reads there."""

    sender: str
    place: str
    body: str
    sent_at: datetime
    url: str
    # A direct message (else a mention in the room `place` names).
    direct: bool


def place_and_path(message: Message, *, reader_id: int) -> tuple[str, str]:
    """Where a message is (`#lobby`, `@bob`) and the page's path, as the
    reader sees it. Expects the conversation's direct users loaded."""
    conversation = message.conversation
    if conversation.is_room:
        return f"#{conversation.slug}", reverse("room", args=[conversation.slug])
    low, high = conversation.direct_low, conversation.direct_high
    other = high if low is not None and low.pk == reader_id else low
    name = other.username if other is not None else ""
    return f"@{name}", reverse("direct", args=[name])


def missed_item(message: Message, *, reader_id: int) -> MissedItem:
    place, path = place_and_path(message, reader_id=reader_id)
    return MissedItem(
        sender=message.sender.username,
        place=place,
        body=message.body,
        sent_at=message.created_at,
        url=site_url(f"{path}?{urlencode({'around': message.id})}"),
        direct=not message.conversation.is_room,
    )


def digest_email(*, user: User, items: list[MissedItem]) -> EmailMultiAlternatives:
    """The email of one batch, in the user's language (accounts.language:
    there is no request to ask)."""
    unsubscribe = unsubscribe_url(user)
    with translation.override(language_of(user)):
        subject = ngettext(
            "%(count)d message you missed",
            "%(count)d messages you missed",
            len(items),
        ) % {"count": len(items)}
        context = {
            "user": user,
            "items": items,
            "unsubscribe_url": unsubscribe,
            "settings_url": site_url(reverse("account")),
        }
        text = render_to_string("email/missed_messages.txt", context)
        html = render_to_string("email/missed_messages.html", context)
    email = EmailMultiAlternatives(
        subject,
        text,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    email.attach_alternative(html, "text/html")
    return email


def send_digest(*, user: User, messages: list[Message]) -> None:
    """Send one batch to the user's verified address (raises what the
    backend raises: the caller keeps the batch for the next round)."""
    items = [missed_item(message, reader_id=user.pk) for message in messages]
    digest_email(user=user, items=items).send()
