"""A room consumer as the Channels tutorial writes it, and its ASGI application.

Run as `daphne bench.reference.tutorial:application` with
DJANGO_SETTINGS_MODULE=bench.reference.settings. On purpose it keeps the
tutorial's habits: channels' own dispatch (with its per-event thread hop),
`group_add` on connect, one `group_send` per message, `json.dumps` once per
recipient, no storage and no authentication. It adds only what the bench's
common shape needs: a `hello` on connect, an `ack` echoing the `client_id`, and
`pong` to `ping`.
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")

import django  # noqa: E402

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import path  # noqa: E402


class TutorialChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello"}))

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data == "ping":
            await self.send(text_data="pong")
            return
        data = json.loads(text_data)
        await self.send(
            text_data=json.dumps({"type": "ack", "client_id": data.get("client_id")})
        )
        await self.channel_layer.group_send(
            self.room_group_name,
            {
                "type": "chat.message",
                "message": data.get("body"),
                "client_id": data.get("client_id"),
            },
        )

    async def chat_message(self, event):
        await self.send(
            text_data=json.dumps(
                {
                    "type": "message",
                    "room": self.room_name,
                    "body": event["message"],
                    "client_id": event["client_id"],
                }
            )
        )


urlpatterns: list = []  # ROOT_URLCONF: HTTP is not part of the reference

application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": URLRouter(
            [path("ws/bench/<str:room_name>/", TutorialChatConsumer.as_asgi())]
        ),
    }
)
