"""Reading a client's WebSocket frame: its size, text or heartbeat, a JSON object."""

from django.conf import settings

from chat import json_input
from chat.errors import InvalidInput
from chat.services.validation import is_valid_client_id

from .member import HEARTBEAT_REPLY, HEARTBEAT_REQUEST

# What `read` answers for the heartbeat texts instead of a frame.
PING, PONG = HEARTBEAT_REQUEST, HEARTBEAT_REPLY


def read(message: dict) -> dict | str:
    """The frame of a websocket.receive, PING or PONG; raises InvalidInput."""
    text = message.get("text")
    limit = settings.CHAT_MAX_FRAME_LENGTH
    if len(text if text is not None else message.get("bytes") or b"") > limit:
        raise InvalidInput("too_long", f"A frame is at most {limit} characters.")
    if text is None:
        raise InvalidInput("invalid_frame", "Binary frames are not supported.")
    if text in (PING, PONG):
        return text
    try:
        frame = json_input.loads(text)
    except ValueError:  # chat.json_input.InvalidJSON
        raise InvalidInput("invalid_json", "A frame must be a JSON object.") from None
    if not isinstance(frame, dict):
        raise InvalidInput("invalid", "A frame must be a JSON object.")
    return frame


def client_id_of(frame: object) -> str | None:
    """The frame's client_id if it can be echoed as it came, else None."""
    client_id = frame.get("client_id") if isinstance(frame, dict) else None
    return client_id if is_valid_client_id(client_id) else None


def client_id_in(text: object) -> str | None:
    """The client_id of a frame not read yet (for a refusal's answer)."""
    if not isinstance(text, str) or len(text) > settings.CHAT_MAX_FRAME_LENGTH:
        return None
    try:
        return client_id_of(json_input.loads(text))
    except ValueError:  # chat.json_input.InvalidJSON
        return None
