"""Text from clients: what a database can store, and how an error shows it.

JSON may carry NUL characters and lone surrogates that no UTF-8 column or
socket takes; such text is refused or escaped before it gets that far.
"""


def is_storable(text: str) -> bool:
    """False for text a database cannot hold: NUL characters, lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def quoted(value: str, limit: int = 50) -> str:
    """A client's string as an error's detail shows it: cut short and quoted.

    Lone surrogates are written as escapes, so that the error can always be
    sent: echoing them raw would fail at the socket.
    """
    shown = value[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
    return f"'{shown}'"
