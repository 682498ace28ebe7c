"""Customer support on the sockets (docs/protocol.md, "Support").

`AgentFrames`, a mixin of the members' consumer: an agent's `support.send`
and `support.typing`. `VisitorFrames`, the visitor consumer's own handlers:
`message.send` and `typing` without room or to (the visitor's conversation).
Each handler calls one service of chat.services.support_conversations.
"""

from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from chat import events
from chat.errors import InvalidInput
from chat.services import support_conversations as conversations


def _typing_text(user, conversation_id: int) -> str:
    return events.dumps(
        {
            "type": "typing",
            "room": None,
            "kind": "support",
            "conversation": conversation_id,
            "user": {
                **events.user_payload(user),
                "display_name": events.display_name(user),
            },
        }
    )


class Acknowledging:
    if TYPE_CHECKING:  # the consumer's

        async def send_text(self, text: str) -> None: ...

    async def _ack(self, stored) -> None:
        message, _ = stored
        text = events.ack_frame(client_id=message.client_id, message_id=message.id)
        await self.send_text(text)


class AgentFrames(Acknowledging):
    user: Any

    if TYPE_CHECKING:  # the consumer's

        async def send_text(self, text: str) -> None: ...

    async def on_support_send(self, frame: dict) -> None:
        """A message to a support conversation of the agent's; its ack."""
        await conversations.arun(
            conversations.agent_send,
            answer=self._ack,
            agent=self.user,
            conversation_id=frame.get("conversation"),
            body=frame.get("body"),
            client_id=frame.get("client_id"),
            attachments=frame.get("attachments"),
        )

    async def on_support_typing(self, frame: dict) -> None:
        conversation_id = frame.get("conversation")
        targets = await database_sync_to_async(conversations.agent_typing_targets)(
            self.user, conversation_id
        )
        if targets:
            await events.publish_typing_to_users(
                user=self.user,
                user_ids=targets,
                text=_typing_text(self.user, int(conversation_id)),  # type: ignore[arg-type]
            )


class VisitorFrames(Acknowledging):
    user: Any
    visitor: Any

    if TYPE_CHECKING:  # the consumer's

        async def send_text(self, text: str) -> None: ...

    async def on_visitor_send(self, frame: dict) -> None:
        if frame.get("room") is not None or frame.get("to") is not None:
            raise InvalidInput("invalid", "A visitor's message takes no room or to.")
        await conversations.arun(
            conversations.visitor_send,
            answer=self._ack,
            visitor=self.visitor,
            body=frame.get("body"),
            client_id=frame.get("client_id"),
            attachments=frame.get("attachments"),
        )

    # (conversation id, agent ids) the visitor's typing goes to, read once per
    # connection; forgotten when a frame says the conversation changed
    # (events.SUPPORT_STATE: agent.joined, queue, conversation.closed).
    typing_targets: tuple[int | None, list[int]] | None = None
    support_generation = 0

    def forget_support_state(self) -> None:
        self.typing_targets = None
        self.support_generation += 1

    async def on_visitor_typing(self, frame: dict) -> None:
        targets = self.typing_targets
        if targets is None:
            generation = self.support_generation
            targets = await database_sync_to_async(
                conversations.visitor_typing_targets
            )(self.visitor)
            # A change told while reading: the answer may be stale.
            if generation == self.support_generation:
                self.typing_targets = targets
        conversation_id, user_ids = targets
        if conversation_id is not None and user_ids:
            await events.publish_typing_to_users(
                user=self.user,
                user_ids=user_ids,
                text=_typing_text(self.user, conversation_id),
            )
