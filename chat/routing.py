from django.urls import path

from .consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    # The article's client connects to /chat?id=<id>&token=<token>.
    path("chat", ChatConsumer.as_asgi()),
    path("chat/", ChatConsumer.as_asgi()),
]
