"""A bare ASGI broadcast app: the ceiling of daphne itself for the bench.

No Channels, no layer, no storage: a room is a set of the connections' `send`
callables in this process, and a message is serialised once and written to each.
Run as `daphne bench.reference.bare:application`.
"""

import json
import logging

logger = logging.getLogger(__name__)

ROOMS: dict[str, set] = {}
HELLO = json.dumps({"type": "hello"})


async def application(scope, receive, send):
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["type"] != "websocket":
        return
    room = scope["path"].rstrip("/").rsplit("/", 1)[-1]
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": HELLO})
    members = ROOMS.setdefault(room, set())
    members.add(send)
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                break
            text = event.get("text")
            if text == "ping":
                await send({"type": "websocket.send", "text": "pong"})
                continue
            frame = json.loads(text)
            client_id = frame.get("client_id")
            ack = json.dumps({"type": "ack", "client_id": client_id})
            await send({"type": "websocket.send", "text": ack})
            out = {
                "type": "websocket.send",
                "text": json.dumps(
                    {
                        "type": "message",
                        "room": room,
                        "body": frame.get("body"),
                        "client_id": client_id,
                    }
                ),
            }
            for member in list(members):
                try:
                    await member(out)
                except Exception:
                    logger.debug("a member went away", exc_info=True)
    finally:
        members.discard(send)
