"""The client frames that change a stored message (docs/protocol.md):
message.edit, message.delete, reaction.add and reaction.remove.

A mixin of the consumer, whose table names these handlers. Each calls one
service of chat.services.changes, which stores the change and then tells it
through the publish path of new messages. The answer is the change's frame,
which every connection that may see the message gets, this one included; an
error is an `error` frame with the client_id (the consumer's). A reaction that
changes nothing (added twice, removed when absent) is told to nobody.
"""

from typing import Any

from chat.services.changes import adelete_message, aedit_message, areact


class ChangeFrames:
    user: Any

    async def on_message_edit(self, frame: dict) -> None:
        await aedit_message(
            user=self.user, message_id=frame.get("id"), body=frame.get("body")
        )

    async def on_message_delete(self, frame: dict) -> None:
        await adelete_message(user=self.user, message_id=frame.get("id"))

    async def on_reaction_add(self, frame: dict) -> None:
        await self._react(frame, add=True)

    async def on_reaction_remove(self, frame: dict) -> None:
        await self._react(frame, add=False)

    async def _react(self, frame: dict, *, add: bool) -> None:
        await areact(
            user=self.user,
            message_id=frame.get("id"),
            emoji=frame.get("emoji"),
            add=add,
        )
