"""A graceful stop on SIGTERM: close every WebSocket saying "server restarting".

daphne (through Twisted) stops the reactor on SIGTERM and drops every socket
without a close frame, so clients see 1006 and cannot tell a restart from a
network fault. Here, once the reactor runs, SIGTERM starts a drain instead:

1. The runtime's `draining` is set: /healthz answers 503 "shutting down", and
   a handshake that still arrives is accepted and closed at once like the others.
2. The listening sockets are closed (after `CHAT_SHUTDOWN_DELAY_SECONDS`, 0 by
   default), so a load balancer sends new connections to another process.
3. Every open WebSocket is closed with 1012 (Service Restart) and the reason
   "server restarting": the client reconnects at once, to another process.
4. When they are all gone, or after `CHAT_SHUTDOWN_TIMEOUT_SECONDS`, the
   runtime stops, then the reactor, and the process exits. A second SIGTERM
   stops it at once.

autobahn lets an application close only with 1000 or 3000-4999; 1012 is the
registered code for exactly this, so chat.realtime.guards teaches daphne to send
it (for the pinned daphne 4.2.3 and autobahn).
"""

import asyncio
import logging
import signal
import sys
import time

from django.conf import settings

from .runtime import Runtime

logger = logging.getLogger(__name__)

# The drain, held so that it runs to its end.
_drains: set[asyncio.Task] = set()


def reactor_if_serving():
    """daphne's Twisted reactor, or None when not served by daphne (tests,
    another ASGI server)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or not hasattr(reactor, "callWhenRunning"):
        return None
    return reactor


def take_over_sigterm(reactor, runtime: Runtime) -> None:
    """Once the reactor runs: SIGTERM drains instead of stopping at once
    (Twisted installs its own handler while starting, before this runs)."""

    def on_sigterm(signum, frame) -> None:
        reactor.callFromThread(begin_drain, reactor, runtime)

    signal.signal(signal.SIGTERM, on_sigterm)


def begin_drain(reactor, runtime: Runtime) -> None:
    if runtime.draining:
        logger.warning("second SIGTERM: stopping now")
        reactor.stop()
        return
    runtime.draining = True
    task = asyncio.ensure_future(drain(reactor, runtime))
    _drains.add(task)


async def drain(reactor, runtime: Runtime) -> None:
    started = time.monotonic()
    delay = settings.CHAT_SHUTDOWN_DELAY_SECONDS
    local_connections = runtime.connections
    logger.warning(
        "SIGTERM: closing %d WebSockets (server restarting)", len(local_connections)
    )
    if delay <= 0:
        stop_listening(reactor)
    try:
        for connection in list(local_connections.open):
            try:
                await connection.close_for_restart()
            except Exception:
                logger.warning("could not close a connection", exc_info=True)
        if delay > 0:
            await asyncio.sleep(delay)
            stop_listening(reactor)
        remaining = settings.CHAT_SHUTDOWN_TIMEOUT_SECONDS - (
            time.monotonic() - started
        )
        try:
            async with asyncio.timeout(max(0.0, remaining)):
                await local_connections.wait_until_empty()
        except TimeoutError:
            logger.warning(
                "%d WebSockets still open after the shutdown timeout",
                len(local_connections),
            )
    finally:
        logger.warning("drained in %.2f s; stopping", time.monotonic() - started)
        try:
            await runtime.stop()
        except Exception:
            logger.warning("the runtime did not stop cleanly", exc_info=True)
        reactor.stop()


def stop_listening(reactor) -> None:
    """Close every listening socket: new connections go to another process."""
    for reader in reactor.getReaders():
        if hasattr(reader, "stopListening"):
            reader.stopListening()
