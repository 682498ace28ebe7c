"""The ASGI application: Django for HTTP, the chat consumer for WebSockets.

Run it with `daphne chatsite.asgi:application`.
"""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from accounts.middleware import WebSocketAuthMiddleware  # noqa: E402
from chat.realtime import runtime as realtime  # noqa: E402
from chat.realtime import shutdown  # noqa: E402
from chat.realtime.guards import install as install_server_guards  # noqa: E402
from chat.realtime.health import HealthCheck  # noqa: E402
from chat.realtime.poll_threads import PollThreads  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from chat.search.checks import log_search_warnings  # noqa: E402

if settings.DEBUG:
    # Development only: daphne serves static files (the admin's styles) itself.
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

# The process's real-time runtime (chat.realtime): made now with the channel
# layer (importing the Redis client is slow: not at the first handshake),
# started once the reactor runs, stopped at the end of the SIGTERM drain.
# daphne 4.2 sends no ASGI lifespan events: this module starts and stops it.
runtime = realtime.Runtime()
realtime.install(runtime)
reactor = shutdown.reactor_if_serving()
if reactor is not None:
    # The database's encoding or locale can make search wrong: say so at
    # start, from a thread of the reactor's (a query, off the event loop).
    reactor.callWhenRunning(reactor.callInThread, log_search_warnings)
    # callWhenRunning fires just before the reactor's asyncio loop (which
    # daphne made the current one) starts running: start in its first turn.
    reactor.callWhenRunning(lambda: asyncio.get_event_loop().call_soon(runtime.start))
    reactor.callWhenRunning(shutdown.take_over_sigterm, reactor, runtime)
# Under daphne: cap a WebSocket's unread backlog, allow server close codes,
# redact credentials in the access log (chat.realtime.guards); refuses daphne,
# autobahn or Twisted versions those patches were not tested with.
install_server_guards()

application = ProtocolTypeRouter(
    {
        # /healthz is answered before Django (no Host check, no thread); the
        # long poll goes to Django on threads shared by every poll.
        "http": HealthCheck(PollThreads(django_asgi_app)),
        # The handshakes read on chat's database thread (accounts imports no chat).
        "websocket": WebSocketAuthMiddleware(
            URLRouter(websocket_urlpatterns),
            database=realtime.CurrentHandshakeDatabase(),
        ),
    }
)
