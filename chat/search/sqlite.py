"""The SQL function the SQLite index's triggers call (migration 0006_search)."""

from .text import chat_search_text


def register_functions(sender, connection, **kwargs) -> None:
    """On every new SQLite connection: chat_search_text(body), as in PostgreSQL."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "chat_search_text", 1, chat_search_text, deterministic=True
        )
