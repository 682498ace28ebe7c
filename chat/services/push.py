"""Web Push: the notifications a browser shows with no page of ours open.

pywebpush encrypts each payload for the subscription's keys (aes128gcm) and
signs the request with the server's VAPID key (CHAT_VAPID_PRIVATE_KEY). Every
push has a TTL (CHAT_PUSH_TTL_SECONDS: a push service drops what it could not
deliver by then) and a Topic per conversation, so that a push not yet delivered
is replaced by the next one of the same conversation, the silent "read" one
included. The service worker (static/chat/sw.js) shows a message push with the
conversation's tag (a new one replaces the one shown) and closes it on "read".
"""

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from pywebpush import WebPushException, webpush

from accounts.models import PushSubscription

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
# A push service answers these for a subscription that is gone for good.
GONE = {404, 410}


def push_enabled() -> bool:
    """Whether the server has a VAPID key pair (else nothing is pushed)."""
    return bool(settings.CHAT_VAPID_PUBLIC_KEY and settings.CHAT_VAPID_PRIVATE_KEY)


def conversation_tag(conversation_id: int) -> str:
    """The notification tag and push Topic of a conversation (Topic: at most 32
    URL-safe characters)."""
    return f"conversation-{conversation_id}"


@dataclass(frozen=True)
class Push:
    """One push to all of a user's browsers."""

    user_id: int
    payload: dict
    topic: str
    urgency: str = "normal"


def message_push(
    *,
    user_id: int,
    conversation_id: int,
    message_id: int,
    title: str,
    body: str,
    url: str,
) -> Push:
    tag = conversation_tag(conversation_id)
    payload = {
        "type": "message",
        "tag": tag,
        "title": title,
        "body": body,
        "url": url,
        "message_id": message_id,
    }
    return Push(user_id=user_id, payload=payload, topic=tag)


def read_push(*, user_id: int, conversation_id: int) -> Push:
    """The silent push that closes a conversation's notification once read."""
    tag = conversation_tag(conversation_id)
    return Push(
        user_id=user_id, payload={"type": "read", "tag": tag}, topic=tag, urgency="low"
    )


def send_pushes(pushes: list[Push]) -> int:
    """Send each push to every subscription of its user; the number of requests
    the push services accepted. A subscription they say is gone is deleted."""
    if not pushes or not push_enabled():
        return 0
    by_user: dict[int, list[PushSubscription]] = {}
    for subscription in PushSubscription.objects.filter(
        user_id__in={push.user_id for push in pushes}
    ):
        by_user.setdefault(subscription.user_id, []).append(subscription)
    accepted = 0
    gone: list[int] = []
    for push in pushes:
        for subscription in by_user.get(push.user_id, []):
            if subscription.pk in gone:
                continue
            status = _send(subscription, push)
            if status in GONE:
                gone.append(subscription.pk)
            elif status is not None and status < 300:
                accepted += 1
    if gone:
        PushSubscription.objects.filter(pk__in=gone).delete()
    return accepted


def _send(subscription: PushSubscription, push: Push) -> int | None:
    """One encrypted request; the push service's status (None: unreachable)."""
    try:
        response = webpush(
            subscription.info(),
            data=json.dumps(push.payload, separators=(",", ":")),
            vapid_private_key=settings.CHAT_VAPID_PRIVATE_KEY,
            vapid_claims={"sub": settings.CHAT_VAPID_SUBJECT},
            ttl=settings.CHAT_PUSH_TTL_SECONDS,
            headers={"Topic": push.topic, "Urgency": push.urgency},
            timeout=TIMEOUT_SECONDS,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        logger.info("push to subscription %s refused: %s", subscription.pk, status)
        return status
    except Exception:  # the network: a push service down must not end the round
        logger.warning("push to subscription %s failed", subscription.pk, exc_info=True)
        return None
    return getattr(response, "status_code", None)
