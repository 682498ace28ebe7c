"""JSON from clients (API bodies, WebSocket frames), read with limits of its own.

Python's decoder raises RecursionError (not ValueError) on deeply nested input,
reads `1e400` as infinity and `NaN` as a number, and names an interpreter
setting when a number has too many digits. Every caller here gets a ValueError
with a reason fit to show the client instead, and data no deeper than
MAX_DEPTH, so nothing downstream recurses on what a client nested.
"""

import json
import math
from typing import Any

# Our frames and bodies nest three levels at most; a little room for clients.
MAX_DEPTH = 32


class InvalidJSON(ValueError):
    """The text is not JSON the server accepts; str() is the reason."""


def _refuse_constant(name: str) -> float:
    raise InvalidJSON(f"{name} is not a JSON number.")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidJSON("A number is out of range.")
    return number


def loads(text: str | bytes) -> Any:
    """Parse client JSON; InvalidJSON (a ValueError) for anything refused."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except InvalidJSON:
        raise
    except RecursionError:
        raise InvalidJSON(f"JSON is nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            raise InvalidJSON("A number has too many digits.") from None
        raise InvalidJSON(f"Not valid JSON: {exc}") from None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # Fewer brackets than the limit cannot nest past it: most input stops here.
    if text.count("[") + text.count("{") > MAX_DEPTH:
        check_depth(data)
    return data


def check_depth(data: Any) -> None:
    """Refuse arrays and objects nested deeper than MAX_DEPTH (without recursing)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise InvalidJSON(f"JSON is nested deeper than {MAX_DEPTH} levels.")
        pending.extend((child, depth + 1) for child in children)
