"""Warn when the PostgreSQL database would make search wrong (docs/deploy.md).

The index's character classes are code points, so CJK pairs are found in any
locale of a UTF8 database. Two settings of the database still break it:
- an encoding other than UTF8 (SQL_ASCII stores bytes: pairs are made of
  bytes, not characters, and CJK queries match the wrong text or nothing);
- LC_CTYPE 'C' or 'POSIX': lower() folds ASCII only, so words in other
  scripts (Ä, Σ, Ж) are found only in the case they were typed in.
"""

import logging

from django.core import checks
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)


def database_settings(alias: str = "default") -> tuple[str, str] | None:
    """(encoding, LC_CTYPE) of a PostgreSQL database, None for another engine."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_encoding_to_char(encoding), datctype FROM pg_database "
            "WHERE datname = current_database()"
        )
        encoding, ctype = cursor.fetchone()
    return encoding, ctype


def search_warnings(encoding: str, ctype: str) -> list[checks.Warning]:
    found = []
    if encoding.upper() != "UTF8":
        found.append(
            checks.Warning(
                f"The database's encoding is {encoding}, not UTF8: search splits "
                "Chinese, Japanese and Korean text into bytes and finds the wrong "
                "messages.",
                hint="Create the database with ENCODING 'UTF8' (docs/deploy.md).",
                id="chat.W001",
            )
        )
    if ctype.upper() in {"C", "POSIX"}:
        found.append(
            checks.Warning(
                f"The database's LC_CTYPE is {ctype}: search lower-cases ASCII "
                "only, so words such as 'Über' are not found as 'über'.",
                hint="Create the database with LC_CTYPE 'C.UTF-8' or another "
                "UTF-8 locale (docs/deploy.md).",
                id="chat.W002",
            )
        )
    return found


@checks.register(checks.Tags.database)
def check_search_collation(app_configs=None, databases=None, **kwargs):
    """The system check: run by migrate and `manage.py check --database default`."""
    found = []
    for alias in databases or []:
        try:
            current = database_settings(alias)
        except DatabaseError:
            continue
        if current is not None:
            found += search_warnings(*current)
    return found


def log_search_warnings() -> None:
    """At server start: the same warnings in the log (daphne runs no checks)."""
    try:
        current = database_settings()
    except DatabaseError:
        logger.debug("search: database not reachable at start; not checked")
        return
    finally:
        connections["default"].close()
    if current is not None:
        for warning in search_warnings(*current):
            logger.warning("%s (%s) %s", warning.msg, warning.id, warning.hint)
