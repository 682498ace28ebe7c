"""The errors a client can be told about, shared by the WebSocket and HTTP."""

from http import HTTPStatus


class ChatError(Exception):
    """A request the server refuses, with a stable code and a readable reason."""

    status = HTTPStatus.BAD_REQUEST
    # Keys an answer carries beside code and detail (a mute's "until").
    extra: dict = {}  # noqa: RUF012 (never changed in place)

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class InvalidInput(ChatError):
    """Malformed or out-of-range input (codes: invalid, empty, too_long, ...)."""


class NotFound(ChatError):
    status = HTTPStatus.NOT_FOUND

    def __init__(self, detail: str):
        super().__init__("not_found", detail)


class Forbidden(ChatError):
    status = HTTPStatus.FORBIDDEN

    def __init__(self, detail: str):
        super().__init__("forbidden", detail)


class Muted(ChatError):
    """The user may read the room but not write in it until `until` (ISO
    8601, None: until lifted)."""

    status = HTTPStatus.FORBIDDEN

    def __init__(self, detail: str, until: str | None):
        super().__init__("muted", detail)
        self.extra = {"until": until}


class Unavailable(ChatError):
    """The database cannot be reached: nothing was stored, try again."""

    status = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, detail: str = "The server cannot store messages right now."):
        super().__init__("unavailable", detail)
