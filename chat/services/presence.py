"""Who is online: what notifications ask of presence.

placeholder: the presence branch provides the real one.
"""

from datetime import datetime


def was_online_at(user_id: int, when: datetime) -> bool:
    """Whether the user had an online connection at that moment (placeholder:
    the presence branch provides the real one)."""
    return False


def has_open_page(user_id: int) -> bool:
    """Whether the user has any live connection now, in any process
    (placeholder: the presence branch provides the real one)."""
    return False
