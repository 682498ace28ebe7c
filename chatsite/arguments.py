"""Argument types for the manage.py commands: a number is checked against its range.

argparse answers a value a type refuses with the command's usage and the reason
(a CommandError under call_command), so a bad number never reaches a
timedelta or the database as an OverflowError.
"""

import argparse
from collections.abc import Callable


def whole_number(*, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # not a number, or more digits than int() reads
            value = None
        if value is None or not low <= value <= high:
            shown = text if len(text) <= 20 else text[:20] + "…"
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, not {shown!r}"
            )
        return value

    parse.__name__ = f"whole number from {low} to {high}"
    return parse


def text(*, max_length: int) -> Callable[[str], str]:
    """An argparse type: text of 1 to `max_length` characters."""

    def parse(value: str) -> str:
        if not 1 <= len(value) <= max_length:
            raise argparse.ArgumentTypeError(
                f"must be 1 to {max_length} characters, not {len(value)}"
            )
        return value

    parse.__name__ = f"text of 1 to {max_length} characters"
    return parse
