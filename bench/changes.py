"""The edits and reactions the load generator mixes into its messages (issue 15).

A sender changes only its own messages, each at most once, so the change frame
that answers it (`message.edited`, `message.reactions`, sent to every connection
of the conversation, the actor's own included) is known by its type and the
message's id.
"""

import json

# The frame the server answers an edit or a reaction with, by the frame sent.
ANSWERS = {"message.edit": "message.edited", "reaction.add": "message.reactions"}
CHANGE_FRAMES = frozenset(ANSWERS.values())
REACTIONS = ("👍", "🎉", "❤️", "😂", "👀", "🙏")


def change(*, message_id: int, turn: int, client_id: str) -> tuple[str, tuple]:
    """An edit (even turns) or a reaction (odd) of a message, as text, and the
    key (answer type, message id) its answer is known by."""
    if turn % 2 == 0:
        frame = {"type": "message.edit", "id": message_id, "body": f"edited {turn}"}
    else:
        emoji = REACTIONS[turn % len(REACTIONS)]
        frame = {"type": "reaction.add", "id": message_id, "emoji": emoji}
    frame["client_id"] = client_id
    text = json.dumps(frame, ensure_ascii=False)
    return text, (ANSWERS[frame["type"]], message_id)


def answer_key(text: str) -> tuple[str, int | None]:
    """The key of a change frame the server sent."""
    payload = json.loads(text)
    return payload["type"], payload.get("id")
