"""Every frame the server sends, every group name, and publishing to the layer.

A frame is serialised once, here, and the same text goes to every recipient:
consumers write it to their sockets as it is. The channel layer is best effort:
a failure to publish is logged and never undoes what the database holds; a client
that missed a frame recovers it with `sync`.
"""

import asyncio
import json
import logging
from collections import deque
from collections.abc import Iterable
from datetime import datetime

from channels.layers import get_channel_layer
from django.conf import settings

from .models import Conversation, Message
from .relay import relay

logger = logging.getLogger(__name__)

# Layer message types, handled by chat.consumers.ChatConsumer.
FRAME = "chat.frame"
SUBSCRIBE = "chat.subscribe"
UNSUBSCRIBE = "chat.unsubscribe"


def room_group(conversation_id: int) -> str:
    """The group of a room's connections (names from keys: ASCII, short)."""
    return f"room.{conversation_id}"


def user_group(user_id: int) -> str:
    """The group of one user's connections: direct messages, every tab."""
    return f"user.{user_id}"


def dumps(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def isoformat(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def user_payload(user) -> dict:
    return {"id": user.pk, "username": user.username}


def message_payload(message: Message) -> dict:
    """A message as frames and the HTTP API show it.

    Expects `sender` and the conversation with its direct users to be loaded
    (selectors.with_message_relations).
    """
    conversation = message.conversation
    recipient = None
    if not conversation.is_room:
        low, high = conversation.direct_low, conversation.direct_high
        recipient = user_payload(high if message.sender_id == low.pk else low)
    return {
        "type": "message",
        "id": message.id,
        "room": conversation.slug if conversation.is_room else None,
        "recipient": recipient,
        "sender": user_payload(message.sender),
        "body": message.body,
        "client_id": message.client_id,
        "created_at": isoformat(message.created_at),
    }


def message_frame(message: Message) -> str:
    return dumps(message_payload(message))


def hello_frame(*, user, heartbeat: int, last_id: int) -> str:
    return dumps(
        {
            "type": "hello",
            "user": user_payload(user),
            "heartbeat": heartbeat,
            "last_id": last_id,
        }
    )


def ack_frame(*, client_id: str, message_id: int) -> str:
    return dumps({"type": "ack", "client_id": client_id, "id": message_id})


def error_frame(*, code: str, detail: str, client_id: str | None = None) -> str:
    return dumps(
        {"type": "error", "code": code, "detail": detail, "client_id": client_id}
    )


def sync_done_frame(*, last_id: int, more: bool) -> str:
    return dumps({"type": "sync.done", "last_id": last_id, "more": more})


def room_payload(conversation: Conversation) -> dict:
    return {
        "slug": conversation.slug,
        "title": conversation.title,
        "private": conversation.is_private,
    }


def room_joined_frame(conversation: Conversation) -> str:
    return dumps(
        {
            "type": "room.joined",
            "room": conversation.slug,
            "detail": room_payload(conversation),
        }
    )


def room_left_frame(conversation: Conversation) -> str:
    return dumps({"type": "room.left", "room": conversation.slug})


def message_groups(message: Message) -> list[str]:
    conversation = message.conversation
    if conversation.is_room:
        return [room_group(conversation.pk)]
    return [
        user_group(conversation.direct_low_id),
        user_group(conversation.direct_high_id),
    ]


# What this process failed to publish, sent again once the layer answers (by
# chat.connections): members on other processes may never have noticed the
# outage, so nothing else would tell them. Bounded: past it, they sync.
unpublished: deque[tuple[list[str], dict]] = deque(maxlen=10_000)


async def republish() -> bool:
    """Send again, in order, what failed to go out; False if it fails again."""
    layer = get_channel_layer()
    while unpublished:
        groups, event = unpublished[0]
        try:
            async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
                for group in groups:
                    await layer.group_send(group, event)
        except Exception:
            logger.warning("republishing failed; trying again later", exc_info=True)
            return False
        unpublished.popleft()
    return True


async def _group_send(groups: Iterable[str], event: dict) -> bool:
    """Send `event` to `groups`; False (and a log line) if the layer failed."""
    groups = list(groups)
    try:
        if relay.writes_outbox:
            await relay.store(groups, event)
            return True
        layer = get_channel_layer()
        # Bounded: a Redis that does not answer (a network partition) must not
        # hold up the sender's next frames for ever.
        async with asyncio.timeout(settings.CHAT_LAYER_TIMEOUT_SECONDS):
            for group in groups:
                await layer.group_send(group, event)
    except Exception:
        logger.warning(
            "channel layer send failed; sent again when it is back", exc_info=True
        )
        if not relay.writes_outbox:
            unpublished.append((groups, event))
        return False
    return True


async def publish_message(message: Message) -> bool:
    """Fan a stored message out to every connection that may see it."""
    return await _group_send(
        message_groups(message),
        # message_id: where the connection's catch-up after an outage begins.
        {"type": FRAME, "text": message_frame(message), "message_id": message.id},
    )


async def publish_membership(
    *, user_id: int, conversation: Conversation, joined: bool, origin: str | None = None
) -> bool:
    """Tell the user's connections to join (or leave) the room's group.

    `origin` is the channel that asked, which has done so itself already.
    """
    event = {
        "type": SUBSCRIBE if joined else UNSUBSCRIBE,
        "group": room_group(conversation.pk),
        "text": room_joined_frame(conversation)
        if joined
        else room_left_frame(conversation),
        "origin": origin,
    }
    return await _group_send([user_group(user_id)], event)
