"""The connection's side of presence (docs/protocol.md, "Presence"): the
client's `presence` frame, and the others' `presence` frames written once.

A mixin of the consumer, whose tables name these handlers. The records and the
job that tells the others are the runtime's (chat.realtime.presence).
"""

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from chat.errors import InvalidInput
from chat.services.presence import CLIENT_STATUSES

# A change reaches a connection once per group it shares with the user: the
# last few (user, seq) written are kept to drop the copies.
SEEN_LIMIT = 32


class PresenceMember:
    user: Any
    runtime: Any
    scope: dict
    channel_name: str
    presence_seen: "OrderedDict[tuple[Any, Any], None] | None" = None

    if TYPE_CHECKING:  # the consumer's (a stub here would shadow it)

        async def send_text(self, text: str) -> None: ...

    async def on_presence(self, frame: dict) -> None:
        """`{"type": "presence", "status": "online" | "away"}`; no answer."""
        status = frame.get("status")
        if not isinstance(status, str) or status not in CLIENT_STATUSES:
            raise InvalidInput("invalid", "'status' must be 'online' or 'away'.")
        self.runtime.presence.changed(self.channel_name, status)

    async def on_layer_presence(self, event: dict) -> None:
        user_id = event.get("user_id")
        if self.user is None or user_id == self.user.pk:
            return
        seen = self.presence_seen
        if seen is None:
            seen = self.presence_seen = OrderedDict()
        key = (user_id, event.get("seq"))
        if key in seen:
            return
        seen[key] = None
        if len(seen) > SEEN_LIMIT:
            seen.popitem(last=False)
        await self.send_text(event["text"])
