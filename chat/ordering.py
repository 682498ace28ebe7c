"""Rows that readers follow by id must commit in the order of their ids.

A reader that asks for "everything after the last id I saw" (`sync`, the relay)
would skip a row for good if a lower id could commit after a higher one. On
PostgreSQL a transaction-scoped advisory lock, taken before the id is drawn,
rules that out; SQLite has a single writer already (IMMEDIATE transactions).
"""

from django.db import connection

# Arbitrary keys, the same in every process.
MESSAGES = 0x63686174  # "chat"
OUTBOX = 0x6F757462  # "outb"


def commit_in_id_order(lock: int) -> None:
    """Call inside the transaction, before the insert that draws the id."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
