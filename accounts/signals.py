"""Django's log-out signal, passed on to the access service."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from .access import session_ended


@receiver(user_logged_out, dispatch_uid="accounts.close_sockets_on_logout")
def close_sockets_on_logout(sender, request, user, **kwargs) -> None:
    """Logging out (the page or the admin) closes that session's WebSockets."""
    if user is not None and request is not None and hasattr(request, "session"):
        session_ended(user=user, session_key=request.session.session_key)
