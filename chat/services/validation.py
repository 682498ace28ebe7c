"""Checks on text that clients send, shared by every service."""

import uuid

from django.conf import settings

from chat.errors import InvalidInput
from chat.text import is_storable

CLIENT_ID_MAX_LENGTH = 64


def clean_body(body) -> str:
    """The message body as sent; refuses what is not 1-4,000 characters of text."""
    if body is None:
        raise InvalidInput("empty", "'body' is missing.")
    if not isinstance(body, str):
        raise InvalidInput("invalid", "'body' must be a string.")
    if not body.strip():
        raise InvalidInput("empty", "A message cannot be empty.")
    limit = settings.CHAT_MAX_BODY_LENGTH
    if len(body) > limit:
        raise InvalidInput(
            "too_long", f"A message is at most {limit} characters ({len(body)} sent)."
        )
    if not is_storable(body):
        raise InvalidInput("invalid", "'body' holds characters that cannot be stored.")
    return body


def is_valid_client_id(client_id) -> bool:
    return (
        isinstance(client_id, str)
        and 0 < len(client_id) <= CLIENT_ID_MAX_LENGTH
        and is_storable(client_id)
    )


def clean_client_id(client_id) -> str:
    """The sender's id for a message; one is made when the client gives none."""
    if client_id is None or client_id == "":
        return uuid.uuid4().hex
    if not isinstance(client_id, str):
        raise InvalidInput("invalid", "'client_id' must be a string.")
    if len(client_id) > CLIENT_ID_MAX_LENGTH or not is_storable(client_id):
        raise InvalidInput(
            "invalid",
            f"'client_id' must be at most {CLIENT_ID_MAX_LENGTH} plain characters.",
        )
    return client_id
