"""Access lost in accounts (accounts.access): close the sockets that rested on it."""

from asgiref.sync import async_to_sync

from chat import events


def close_lost_access(
    sender,
    *,
    user_id: int,
    code: int,
    token_id: int | None = None,
    session_key: str | None = None,
    **signal_arguments,
) -> None:
    """Receiver of accounts.access.access_lost, sent after the commit."""
    async_to_sync(events.publish_access_lost)(
        user_id=user_id, code=code, token_id=token_id, session_key=session_key
    )
