"""The WebSocket handshake to a path we do not serve: refused with 403, quietly.

channels' URLRouter raises ValueError for a path no route matches, which daphne
logs as a traceback and answers with a 500. This is the last route instead:
it refuses the handshake (daphne answers 403 for a close before accept).
"""

import logging

logger = logging.getLogger(__name__)


async def refuse_handshake(scope, receive, send) -> None:
    """Close before accepting: the client sees HTTP 403, the log one access line."""
    message = await receive()
    if message["type"] == "websocket.connect":
        logger.debug("WebSocket to %s refused: not served", scope.get("path"))
        await send({"type": "websocket.close", "code": 1008})
