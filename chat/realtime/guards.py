"""What daphne does not do for us, added to it at start-up.

1. A cap on what daphne holds for a WebSocket client that does not read.

daphne hands every frame to Twisted's transport, which buffers whatever the
client's TCP window does not take, without limit: a client that stops reading
while its rooms are busy would grow the server's memory for as long as it stays
connected. Before each frame is written, this checks how many bytes are still
waiting for that client; past CHAT_SEND_BUFFER_BYTES the connection is closed
with 1008 (policy violation). The close frame itself may never get through, so
autobahn drops the TCP connection after its close-handshake timeout (1 s), which
also frees the buffer. Other connections are not touched.

2. Server close codes: the application may close with 1001, 1008, 1011, 1012
or 1013 (autobahn's sendClose takes only 1000 and 3000-4999, so daphne failed
on the consumer's 1013 "try again later"; its lower-level sendCloseFrame sends
any code). 1012 goes with the reason "server restarting" (chat.realtime.shutdown).
A frame the application sends once the socket is closing is dropped, as daphne
does once it has heard of the close: autobahn raises instead, which killed the
consumer before its disconnect handler ran.

3. The access log: daphne writes each HTTP request's path with its query
string. The API takes no credentials there, but a client may still put one in
a URL; the values of `token` and `ticket` are written as `[redacted]`.

4. The cost of a frame. autobahn formats the arguments of a debug log line
(three `click.style` calls) for every frame it writes, even with debug logging
off: a tenth of a saturated fan-out's time. With the log level above debug, a
frame that can go straight to the socket (nothing queued before it) is written
without that line. Likewise its settings, pretty-printed for a debug line at
every connection, are formatted only if the line is written.

5. When a frame is written. Twisted's `transport.write` only queues: it asks
the event loop to watch the socket for writability and writes on the loop's
next turn, then stops watching (two `epoll_ctl` calls and a reactor callback
per frame). A message to a room of N members is N such writes, and at a steady
rate, with one frame per socket per turn, that cost is paid for every frame. A
frame with nothing queued before it is now sent to the socket at once; what the
kernel does not take (or an error) goes through `transport.write` as before, so
frames stay in order and Twisted still notices a closed connection.

6. Request bodies. Twisted parses a multipart body into memory itself (its
`request.args`, which daphne never reads) and answers one it cannot parse with
an empty 400 before Django sees it: that parsing is turned off, Django's parser
(bounded by chat.upload_handlers) reads the body. And Twisted keeps the whole
body, however long, before daphne hands it on: a body longer than its path
takes (chat.body_limit: POST /api/uploads/ its own limit, else
DATA_UPLOAD_MAX_MEMORY_SIZE) is answered 413 as soon as it passes the limit and
the connection closed, so no more than the limit is ever held.

Each change is one named function below, taking the class (or module) it
changes; `install` applies them all, from chatsite.asgi when the process runs
under daphne. They read daphne's, autobahn's and Twisted's internals, so
`install` first checks that the installed versions are those the patches were
tested with (TESTED_VERSIONS), and refuses to start the server otherwise
(CHAT_ALLOW_UNTESTED_SERVER=1 overrides). docs/architecture.md ("Framework
patches") lists them with why each exists.
"""

import importlib.metadata
import json
import logging
import re
import sys
from collections.abc import Mapping

from django.conf import settings

logger = logging.getLogger(__name__)

# The versions every patch here was tested with (the pins of requirements.txt):
# a new version of one of them may have moved the internals the patches read.
# Add a version only after running the whole suite and `make bench` on it.
TESTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "daphne": ("4.2.3",),
    "autobahn": ("26.11.1",),
    "Twisted": ("26.10.0",),
}

CLOSE_POLICY_VIOLATION = 1008
CLOSE_SERVICE_RESTART = 1012
RESTART_REASON = "server restarting"
# Close codes a server may send that autobahn's sendClose refuses, with the
# reason each is sent with.
SERVER_CODES = {
    1001: None,
    1008: None,
    1011: None,
    CLOSE_SERVICE_RESTART: RESTART_REASON.encode(),
    1013: None,
}


def buffered_bytes(transport) -> int | None:
    """Bytes a Twisted transport has not written yet; None if it cannot tell."""
    seen = 0
    while transport is not None and seen < 5:
        if hasattr(transport, "_tempDataLen") and hasattr(transport, "dataBuffer"):
            pending = len(transport.dataBuffer) - transport.offset
            return pending + transport._tempDataLen
        # A TLS (or other) wrapper: the socket's own transport is inside it.
        transport = getattr(transport, "transport", None)
        seen += 1
    return None


_SECRET_PARAMETER = re.compile(r"([?&](?:token|ticket)=)[^&#\s]*", re.IGNORECASE)


def redact(path: str) -> str:
    """The path with the values of `token` and `ticket` parameters hidden."""
    return _SECRET_PARAMETER.sub(r"\1[redacted]", path)


def installed_versions() -> dict[str, str]:
    """The installed version of each package in TESTED_VERSIONS ("" if absent)."""
    found = {}
    for package in TESTED_VERSIONS:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = ""
    return found


def untested_versions(installed: Mapping[str, str] | None = None) -> list[str]:
    """ "<package> <version>" for each installed version not in TESTED_VERSIONS."""
    if installed is None:
        installed = installed_versions()
    return [
        f"{package} {installed.get(package) or '(not installed)'}"
        for package, tested in TESTED_VERSIONS.items()
        if installed.get(package) not in tested
    ]


def untested_message(untested: list[str]) -> str:
    tested = ", ".join(
        f"{package} {' or '.join(versions)}"
        for package, versions in TESTED_VERSIONS.items()
    )
    return (
        f"Untested server versions: {', '.join(untested)}. chat.realtime.guards "
        f"patches their internals and was tested with {tested} only. Install "
        "those (requirements.txt), or set CHAT_ALLOW_UNTESTED_SERVER=1 to start "
        "anyway (docs/architecture.md, Framework patches)."
    )


def check_versions(
    *, allow_untested: bool, installed: Mapping[str, str] | None = None
) -> None:
    """Stop the process with one line unless the server's versions were tested.

    With `allow_untested` it starts anyway, with that line as a warning.
    """
    untested = untested_versions(installed)
    if not untested:
        return
    message = untested_message(untested)
    if allow_untested:
        logger.warning(
            "%s Starting anyway: CHAT_ALLOW_UNTESTED_SERVER is set.", message
        )
        return
    # SystemExit with a text: that line on stderr and exit status 1, no traceback.
    raise SystemExit(message)


def install() -> bool:
    """Patch daphne, autobahn and Twisted; False when not running under daphne.

    Refuses (SystemExit) versions they were not tested with, unless
    CHAT_ALLOW_UNTESTED_SERVER is set.
    """
    if "daphne.server" not in sys.modules:
        return False
    check_versions(allow_untested=settings.CHAT_ALLOW_UNTESTED_SERVER)
    from autobahn.websocket import protocol as autobahn_protocol
    from daphne.access import AccessLogGenerator
    from daphne.http_protocol import WebRequest
    from daphne.ws_protocol import WebSocketProtocol

    if getattr(WebSocketProtocol, "chat_guards_installed", False):
        return True
    guard_send_buffer(WebSocketProtocol)
    allow_server_close_codes(WebSocketProtocol)
    drop_sends_while_closing(WebSocketProtocol)
    redact_access_log(AccessLogGenerator)
    write_frames_without_debug_formatting(WebSocketProtocol)
    format_connection_settings_lazily(autobahn_protocol)
    limit_request_bodies(WebRequest)
    WebSocketProtocol.chat_guards_installed = True
    return True


def guard_send_buffer(protocol_class) -> None:
    """Close (1008) a WebSocket whose unwritten bytes pass CHAT_SEND_BUFFER_BYTES.

    Changes daphne's `handle_reply`: what the application sends after that close
    goes nowhere.
    """
    original = protocol_class.handle_reply

    def handle_reply(self, message):
        if message.get("type") == "websocket.send" and getattr(
            self, "closed_for_backlog", False
        ):
            return None  # closing: what the consumer still sends goes nowhere
        if message.get("type") == "websocket.send" and self.state == self.STATE_OPEN:
            waiting = buffered_bytes(self.transport)
            if waiting is not None and waiting > settings.CHAT_SEND_BUFFER_BYTES:
                logger.warning(
                    "closing a WebSocket that does not read: %d bytes waiting",
                    waiting,
                )
                self.closed_for_backlog = True
                self.sendCloseFrame(
                    code=CLOSE_POLICY_VIOLATION,
                    reasonUtf8=b"Too much unread data.",
                    isReply=False,
                )
                return None
        return original(self, message)

    protocol_class.handle_reply = handle_reply


def allow_server_close_codes(protocol_class) -> None:
    """Let the application close with 1001, 1008, 1011, 1012 and 1013.

    autobahn's sendClose takes only 1000 and 3000-4999 from an application;
    those are for servers to send (RFC 6455 7.4.1), so they go through its
    lower-level sendCloseFrame.
    """
    original = protocol_class.serverClose

    def server_close(self, code=None):
        if code in SERVER_CODES:
            self.sendCloseFrame(code=code, reasonUtf8=SERVER_CODES[code], isReply=False)
        else:
            original(self, code)

    protocol_class.serverClose = server_close


def drop_sends_while_closing(protocol_class) -> None:
    """Drop a frame sent once the socket is closing, as daphne does once it has
    heard of the close: autobahn raises, which killed the consumer before its
    disconnect handler ran."""
    original = protocol_class.serverSend

    def server_send(self, content, binary=False):
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            logger.debug("dropped a frame for a closing WebSocket")
            return
        original(self, content, binary)

    protocol_class.serverSend = server_send


def write_frames_without_debug_formatting(protocol_class) -> None:
    """Write a frame with nothing queued before it straight to the socket
    (write_now), without autobahn's debug line formatted for every frame;
    only while the log level is above debug."""
    import txaio

    if txaio.get_global_log_level() in ("debug", "trace"):  # type: ignore[attr-defined]
        return  # someone reads those lines: keep them
    original = protocol_class.sendData

    def send_data(self, data, sync=False, chopsize=None):
        if sync or chopsize or self.send_queue or self.state != self.STATE_OPEN:
            return original(self, data, sync, chopsize)
        # What autobahn does in this case, less the debug line's formatting.
        write_now(self.transport, data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)
        return None

    protocol_class.sendData = send_data


class _FormattedWhenRead:
    """pformat(value), worked out only if a log line is written with it."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def __str__(self) -> str:
        import pprint

        return pprint.pformat(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def format_connection_settings_lazily(protocol) -> None:
    """autobahn pretty-prints its two dozen settings for a debug line at every
    connection, debug logging on or off: a tenth of a handshake's time. Changes
    the module's `pformat` and `Timings.__str__` (`protocol`: the module
    autobahn.websocket.protocol)."""
    if getattr(protocol, "pformat", None) is None:
        return
    protocol.pformat = _FormattedWhenRead
    # Its one caller that needs the text itself.
    protocol.Timings.__str__ = lambda timings: str(_FormattedWhenRead(timings._timings))


def write_now(transport, data: bytes) -> None:
    """Send `data` on the socket now if nothing waits before it, else queue it."""
    sock = getattr(transport, "socket", None)
    if (
        sock is None
        or getattr(transport, "TLS", True)
        or not transport.connected
        or transport.disconnecting
        or transport._writeDisconnected
        or transport._tempDataBuffer
        or len(transport.dataBuffer) > transport.offset
    ):
        transport.write(data)
        return
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        sent = 0  # Twisted's own write meets the error and closes the connection
    if sent < len(data):
        transport.write(data[sent:])


def redact_access_log(generator_class) -> None:
    """Write `[redacted]` for the values of `token` and `ticket` in the paths
    of daphne's access log (`generator_class`: daphne's AccessLogGenerator)."""
    original = generator_class.__call__

    def log(self, protocol, action, details):
        if isinstance(details.get("path"), str):
            details = dict(details, path=redact(details["path"]))
        return original(self, protocol, action, details)

    generator_class.__call__ = log


def body_limit_of(path: bytes) -> int:
    """The longest body a request to `path` may send (chat.body_limit's rule)."""
    from chat import upload_handlers

    if upload_handlers.takes_files(path.split(b"?", 1)[0].decode("latin-1")):
        return upload_handlers.body_limit()
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def limit_request_bodies(request_class) -> None:
    """No multipart parsing by Twisted; a body over its path's limit refused
    with 413 while it arrives."""
    original_init = request_class.__init__
    original_chunk = request_class.handleContentChunk

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False
        self.chat_body_received = 0
        self.chat_body_refused = False

    def handleContentChunk(self, data):
        if self.chat_body_refused:
            return
        self.chat_body_received += len(data)
        path = getattr(self.channel, "_path", b"") or b""
        limit = body_limit_of(path)
        if self.chat_body_received > limit:
            self.chat_body_refused = True
            refuse_body(self.channel.transport, path=path, limit=limit)
            return
        original_chunk(self, data)

    request_class.__init__ = __init__
    request_class.handleContentChunk = handleContentChunk


def refuse_body(transport, *, path: bytes, limit: int) -> None:
    """chat.api.errors.body_too_large's answer, then the connection closed."""
    detail = f"A request body is at most {limit} bytes."
    if path.startswith(b"/api/"):
        content_type = b"application/json"
        body = json.dumps({"code": "too_long", "detail": detail}).encode()
    else:
        content_type, body = b"text/plain", detail.encode()
    transport.write(
        b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: "
        + content_type
        + b"\r\nConnection: close\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    transport.loseConnection()
