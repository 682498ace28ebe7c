from django.urls import path, re_path

from .consumers import ChatConsumer
from .not_served import refuse_handshake
from .visitor_consumer import VisitorConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    # Customer support's visitors (docs/protocol.md, "Support").
    path("ws/visitor/", VisitorConsumer.as_asgi()),
    # The article's client connects to /chat?id=<id>&token=<token>.
    path("chat", ChatConsumer.as_asgi()),
    path("chat/", ChatConsumer.as_asgi()),
    # Anything else: a clean 403, not URLRouter's ValueError (a 500).
    re_path(r"", refuse_handshake),
]
