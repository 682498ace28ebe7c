"""The ASGI application: Django for HTTP, the chat consumer for WebSockets.

Run it with `daphne chatsite.asgi:application`.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from accounts.middleware import WebSocketAuthMiddleware  # noqa: E402
from chat.realtime import shutdown  # noqa: E402
from chat.realtime.guards import install as install_server_guards  # noqa: E402
from chat.realtime.health import HealthCheck  # noqa: E402
from chat.realtime.poll_threads import PollThreads  # noqa: E402
from chat.realtime.relay import relay  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402

if settings.DEBUG:
    # Development only: daphne serves static files (the admin's styles) itself.
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

# This process serves the sockets: it publishes to its own layer, and relays
# what other processes (manage.py) leave in the outbox (chat.realtime.relay).
relay.mark_serving()
# The channel layer is made now, not by the first handshake: importing the Redis
# client alone takes a third of a second.
get_channel_layer()
# Under daphne: cap a WebSocket's unread backlog, allow server close codes,
# redact credentials in the access log (chat.realtime.guards).
install_server_guards()
# Under daphne, SIGTERM closes every WebSocket with "server restarting" and
# exits once they are gone (chat.realtime.shutdown), instead of dropping them.
shutdown.install()

application = ProtocolTypeRouter(
    {
        # /healthz is answered before Django (no Host check, no thread); the
        # long poll goes to Django on threads shared by every poll.
        "http": HealthCheck(PollThreads(django_asgi_app)),
        "websocket": WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
