"""`typing`: relayed to a conversation's other members; nothing is stored."""

from collections.abc import Callable, Container

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.models import User
from chat import events
from chat.errors import Forbidden, InvalidInput
from chat.selectors import room_by_slug, user_by_username


class TypingRelay:
    """One connection's typing: at most once per CHAT_TYPING_INTERVAL_SECONDS
    per conversation (the frames in between are dropped), and the slugs and
    usernames it typed to looked up once (they never change)."""

    __slots__ = ("user", "now", "room_ids", "user_ids", "relayed")

    def __init__(self, user: User, now: Callable[[], float]) -> None:
        self.user = user
        self.now = now  # the runtime's clock
        self.room_ids: dict[str, int] = {}
        self.user_ids: dict[str, int] = {}
        self.relayed: dict[str, float] = {}

    async def relay(self, *, room: object, to: object, groups: Container[str]) -> None:
        """Relay that the user types in `room` (a slug, one of `groups`, the
        connection's) or to `to` (a username)."""
        if (room is None) == (to is None):
            raise InvalidInput("invalid", "Give exactly one of 'room' and 'to'.")
        room_id = to_id = None
        if room is not None:
            room_id = await self._room_id(room, groups)
            key = f"room.{room_id}"
        else:
            to_id = await self._user_id(to)
            key = f"user.{to_id}"
        now = self.now()
        last = self.relayed.get(key)
        if last is not None and now - last < settings.CHAT_TYPING_INTERVAL_SECONDS:
            return
        self.relayed[key] = now
        await events.publish_typing(
            user=self.user,
            room_id=room_id,
            room=room if isinstance(room, str) else None,
            to_id=to_id,
        )

    async def _room_id(self, slug: object, groups: Container[str]) -> int:
        """The room's id, if the connection receives it (a member's)."""
        room_id = self.room_ids.get(slug) if isinstance(slug, str) else None
        if room_id is None:
            room_id = (await database_sync_to_async(room_by_slug)(slug)).pk
            self.room_ids[slug] = room_id  # type: ignore[index]
        # The groups follow join, leave and membership news: no query.
        if events.room_group(room_id) not in groups:
            raise Forbidden(f"You are not a member of '{slug}': join it first.")
        return room_id

    async def _user_id(self, username: object) -> int:
        """Another active user's id (anyone may write to anyone)."""
        user_id = self.user_ids.get(username) if isinstance(username, str) else None
        if user_id is None:
            user_id = (await database_sync_to_async(user_by_username)(username)).pk
            self.user_ids[username] = user_id  # type: ignore[index]
        if user_id == self.user.pk:
            raise InvalidInput("invalid", "A direct conversation needs another user.")
        return user_id
