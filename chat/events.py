"""Every frame the server sends, every group name, and the events that carry them.

A frame is serialised once, here, and the same text goes to every recipient:
consumers write it to their sockets as it is. The `publish_*` functions hand
their events to the process's `Fanout` (the runtime's, chat.realtime.publishing,
installed by ChatConfig.ready): the domain never reaches into the runtime.
"""

import hashlib
import json
from datetime import datetime
from typing import Protocol

from .models import Conversation, Message, MessageChange

# Layer message types, handled by chat.consumers.ChatConsumer.
FRAME = "chat.frame"
# A chat.frame's mark: it tells a visitor their support conversation changed
# (assigned, queued, closed): the visitor's connection reads it again.
SUPPORT_STATE = "support_state"
# One layer message for several new messages of one group: `frames` holds their
# chat.frame events, in id order (chat.realtime.writer.Publisher); the hub hands
# them over one by one (chat.realtime.hub), long polls only wake up.
FRAMES = "chat.frames"
# In a chat.frame event: the tag of the hub subscription that delivered it in
# its own process before publishing it; that subscription drops the copy.
DELIVERED_IN = "delivered_in"
SUBSCRIBE = "chat.subscribe"
UNSUBSCRIBE = "chat.unsubscribe"
TYPING = "chat.typing"  # a frame for everyone in the groups but its sender
ACCESS_LOST = "chat.access_lost"
# A `presence` frame: `user_id` (its own connections skip it) and `seq` (a
# connection in several of the user's groups writes it once).
PRESENCE = "chat.presence"


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
    if conversation.kind == Conversation.Kind.SUPPORT:
        return support_message_payload(message)
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
        # Its current state (docs/protocol.md, "Messages that change").
        "edited_at": isoformat(message.edited_at) if message.edited_at else None,
        "deleted": message.deleted_at is not None,
        "reactions": message.reactions,
        "reply_to": message.reply_to_id,
        "mentions": message.mentions,
        # A copy kept on the row (chat.services.uploads): no query per message.
        "attachments": message.attachments,
    }


def support_message_payload(message: Message) -> dict:
    """A message of a support conversation: no room, no recipient; its
    conversation's id and kind instead (docs/protocol.md, "Support")."""
    return {
        "type": "message",
        "id": message.id,
        "room": None,
        "recipient": None,
        "kind": "support",
        "conversation": message.conversation_id,
        "sender": {
            **user_payload(message.sender),
            "display_name": display_name(message.sender),
        },
        "body": message.body,
        "client_id": message.client_id,
        "created_at": isoformat(message.created_at),
        "edited_at": isoformat(message.edited_at) if message.edited_at else None,
        "deleted": message.deleted_at is not None,
        "reactions": message.reactions,
        "reply_to": message.reply_to_id,
        "mentions": message.mentions,
        "attachments": message.attachments,
    }


def display_name(user) -> str:
    """How support shows a person: their full name (a visitor's is the name
    they gave, chat.services.support), else the username."""
    return user.get_full_name() or user.username


def upload_payload(upload) -> dict:
    """An upload as POST /api/uploads/ answers it and a message frame lists it."""
    base = f"/api/uploads/{upload.pk}/{upload.key}/"
    return {
        "id": upload.pk,
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "url": base,
        "thumbnail_url": f"{base}thumbnail/" if upload.thumbnail else None,
        "width": upload.width,
        "height": upload.height,
    }


def message_frame(message: Message) -> str:
    return dumps(message_payload(message))


def hello_frame(*, user, heartbeat: int, last_id: int, last_change_id: int) -> str:
    return dumps(
        {
            "type": "hello",
            "user": user_payload(user),
            "heartbeat": heartbeat,
            "last_id": last_id,
            "last_change_id": last_change_id,
        }
    )


def ack_frame(*, client_id: str, message_id: int) -> str:
    return dumps({"type": "ack", "client_id": client_id, "id": message_id})


def error_frame(
    *,
    code: str,
    detail: str,
    client_id: str | None = None,
    retry_after: float | None = None,
    extra: dict | None = None,
) -> str:
    """`extra`: what the error adds (chat.errors.ChatError.extra)."""
    payload = {"type": "error", "code": code, "detail": detail, "client_id": client_id}
    if retry_after is not None:
        payload["retry_after"] = retry_after
    if extra:
        payload.update(extra)
    return dumps(payload)


def sync_done_frame(
    *, last_id: int, more: bool, last_change_id: int | None = None
) -> str:
    """Without `last_change_id` (a sync without changes_after): as in v1."""
    payload: dict = {"type": "sync.done", "last_id": last_id, "more": more}
    if last_change_id is not None:
        payload["last_change_id"] = last_change_id
    return dumps(payload)


def sync_reset_frame(*, reason: str) -> str:
    """A sync that cannot be answered without a gap: reload the history."""
    return dumps({"type": "sync.reset", "reason": reason})


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


def room_left_frame(conversation: Conversation, reason: str = "left") -> str:
    """`reason`: "left" (the user's own leave), "kicked", "banned" or "deleted"."""
    return dumps({"type": "room.left", "room": conversation.slug, "reason": reason})


def room_updated_frame(conversation: Conversation, *, owner, members: int) -> str:
    """A room's new title, privacy or owner, as GET /api/rooms/<slug>/ shows it
    less what is the reader's own (member, read_id, unread)."""
    return dumps(
        {
            "type": "room.updated",
            "room": conversation.slug,
            "detail": {
                **room_payload(conversation),
                "owner": user_payload(owner) if owner is not None else None,
                "members": members,
            },
        }
    )


def message_groups(message: Message) -> list[str]:
    conversation = message.conversation
    if conversation.is_room:
        return [room_group(conversation.pk)]
    if conversation.kind == Conversation.Kind.SUPPORT:
        # Its members' own groups (the visitor, the agent): set by
        # chat.services.support_conversations on the conversation it publishes.
        ids = getattr(conversation, "support_user_ids", ())
        return [user_group(user_id) for user_id in ids]
    return [
        user_group(conversation.direct_low_id),
        user_group(conversation.direct_high_id),
    ]


def change_frame(change: MessageChange) -> str:
    """A stored change as its frame: message.edited, message.deleted or
    message.reactions, with its change_id (chat.services.changes)."""
    return dumps({**change.frame, "change_id": change.id})


def change_groups(change: MessageChange) -> list[str]:
    """The groups of the changed message's conversation (`change.conversation`
    loaded), as message_groups names them."""
    conversation = change.conversation
    if conversation.is_room:
        return [room_group(conversation.pk)]
    return [
        user_group(conversation.direct_low_id),
        user_group(conversation.direct_high_id),
    ]


def change_event(change: MessageChange) -> dict:
    # change_id: where a connection's catch-up on changes begins.
    return {"type": FRAME, "text": change_frame(change), "change_id": change.id}


class Fanout(Protocol):
    """Where published events go: the runtime's publisher and layer."""

    async def publish_message(self, message: Message) -> None: ...

    async def publish_change(self, change: MessageChange) -> None: ...

    async def publish(self, groups: list[str], event: dict) -> bool: ...


_fanout: Fanout | None = None


def use_fanout(fanout: Fanout) -> None:
    """Send what the publish_* functions publish to `fanout` from now on."""
    global _fanout
    _fanout = fanout


def _installed() -> Fanout:
    if _fanout is None:
        raise RuntimeError("no Fanout installed (ChatConfig.ready installs it)")
    return _fanout


def message_event(message: Message) -> dict:
    # message_id: where the connection's catch-up after an outage begins.
    return {"type": FRAME, "text": message_frame(message), "message_id": message.id}


def frames_event(frames: list[dict]) -> dict:
    """One layer message for a group's chat.frame events, in order (FRAMES);
    a single one goes as it is."""
    if len(frames) == 1:
        return frames[0]
    return {"type": FRAMES, "frames": frames}


async def publish_message(message: Message) -> None:
    """Fan a stored message out to every connection that may see it, in the
    order of the process's other new messages."""
    await _installed().publish_message(message)


async def publish_change(*, change: MessageChange) -> None:
    """Fan a stored change out to every connection that may see its message,
    through the same ordered path as new messages."""
    await _installed().publish_change(change)


def membership_event(
    *,
    conversation: Conversation,
    joined: bool,
    origin: str | None = None,
    reason: str = "left",
) -> dict:
    return {
        "type": SUBSCRIBE if joined else UNSUBSCRIBE,
        "group": room_group(conversation.pk),
        "text": room_joined_frame(conversation)
        if joined
        else room_left_frame(conversation, reason),
        "origin": origin,
    }


async def publish_membership(
    *,
    user_id: int,
    conversation: Conversation,
    joined: bool,
    origin: str | None = None,
    reason: str = "left",
) -> bool:
    """Tell the user's connections to join (or leave) the room's group.

    `origin` is the channel that asked, which has done so itself already;
    `reason` says why a user left (room_left_frame).
    """
    event = membership_event(
        conversation=conversation, joined=joined, origin=origin, reason=reason
    )
    return await _installed().publish([user_group(user_id)], event)


async def publish_room_deleted(
    *, conversation: Conversation, user_ids: list[int]
) -> bool:
    """Tell each former member's connections that the room is gone.

    `conversation` is the room as it was (its id kept from before the delete).
    """
    event = membership_event(conversation=conversation, joined=False, reason="deleted")
    return await _installed().publish([user_group(uid) for uid in user_ids], event)


async def publish_room_updated(*, conversation_id: int, text: str) -> bool:
    """Tell the room's connections of its new state (room_updated_frame)."""
    return await _installed().publish(
        [room_group(conversation_id)], {"type": FRAME, "text": text}
    )


def typing_frame(*, room: str | None, user) -> str:
    """`user` is typing in `room` (None: in a direct conversation with the reader)."""
    return dumps({"type": "typing", "room": room, "user": user_payload(user)})


async def publish_typing(
    *,
    user,
    room_id: int | None = None,
    room: str | None = None,
    to_id: int | None = None,
) -> bool:
    """Relay that `user` is typing to a room's group or to one user's group.

    Ephemeral: nothing is stored. The sender's own connections skip it
    (`sender_id`), even where they share the group.
    """
    group = room_group(room_id) if room_id is not None else user_group(to_id)
    event = {
        "type": TYPING,
        "text": typing_frame(room=room, user=user),
        "sender_id": user.pk,
    }
    return await _installed().publish([group], event)


def read_frame(
    *, room: str | None, other, read_id: int, unread: int, mentions: int = 0
) -> str:
    return dumps(
        {
            "type": "read",
            "room": room,
            "with": user_payload(other) if other is not None else None,
            "id": read_id,
            "unread": unread,
            "mentions": mentions,
        }
    )


async def publish_read(
    *,
    user_id: int,
    room: str | None,
    other,
    read_id: int,
    unread: int,
    mentions: int = 0,
) -> bool:
    """Tell every connection of the reader how far it has read a conversation
    (`mentions`: the unread messages that mention the reader)."""
    text = read_frame(
        room=room, other=other, read_id=read_id, unread=unread, mentions=mentions
    )
    event = {"type": FRAME, "text": text}
    return await _installed().publish([user_group(user_id)], event)


def session_digest(session_key: str) -> str:
    """How events name a session: never the session id itself."""
    return hashlib.sha256(session_key.encode()).hexdigest()


async def publish_access_lost(
    *,
    user_id: int,
    code: int,
    token_id: int | None = None,
    session_key: str | None = None,
) -> bool:
    """Close the user's connections that rest on a token or a session now gone.

    With neither `token_id` nor `session_key`, every connection of the user closes
    (a deactivated account). `code` is the WebSocket close code to use.
    """
    event = {
        "type": ACCESS_LOST,
        "code": code,
        "token_id": token_id,
        "session": session_digest(session_key) if session_key else None,
    }
    return await _installed().publish([user_group(user_id)], event)


async def publish_to_users(*, user_ids, text: str, state: bool = False) -> bool:
    """Send a ready frame to every connection of these users (support's
    queue, agent and note frames: chat.services.support_conversations);
    `state`: it tells a visitor their conversation changed (SUPPORT_STATE)."""
    groups = [user_group(user_id) for user_id in sorted(set(user_ids))]
    if not groups:
        return True
    event: dict = {"type": FRAME, "text": text}
    if state:
        event[SUPPORT_STATE] = True
    fanout = _installed()
    in_order = getattr(fanout, "publish_in_order", None)
    if in_order is None:
        return await fanout.publish(groups, event)
    await in_order(groups, event)
    return True


async def publish_typing_to_users(*, user, user_ids, text: str) -> bool:
    """A typing frame for these users' connections but the sender's own."""
    groups = [user_group(user_id) for user_id in sorted(set(user_ids))]
    if not groups:
        return True
    event = {"type": TYPING, "text": text, "sender_id": user.pk}
    return await _installed().publish(groups, event)


def presence_frame(*, user, status: str, last_active_at: datetime | None) -> str:
    """`user`'s presence as the others see it (docs/protocol.md, "Presence")."""
    return dumps(
        {
            "type": "presence",
            "user": user_payload(user),
            "status": status,
            "last_active_at": isoformat(last_active_at) if last_active_at else None,
        }
    )


async def publish_presence(
    *, groups: list[str], user_id: int, seq: str, text: str
) -> bool:
    """Tell the connections of `groups` (the user's rooms, their direct
    conversations' other users) of a presence change."""
    event = {"type": PRESENCE, "text": text, "user_id": user_id, "seq": seq}
    return await _installed().publish(groups, event)
