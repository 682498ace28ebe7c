"""A customer's web site, on an origin of its own, with the support snippet.

A plain HTTP server in a thread: every path answers a small page that loads
`<chat server>/widget.js` with the site's public key (the `site` query
parameter), as a customer pastes it.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from tests.live import free_port

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Our shop</h1>
<script src="{server}/widget.js" data-site="{key}"{extra} async></script>
</body></html>
"""


class CustomerSite:
    """http://localhost:<port>/, a page with the snippet (another origin and site)."""

    def __init__(self, server_url: str, **data: str):
        """`data`: more of the snippet's attributes (user_id -> data-user-id)."""
        self.port = free_port()
        extra = "".join(
            f' data-{name.replace("_", "-")}="{value}"' for name, value in data.items()
        )

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                key = parse_qs(urlsplit(self.path).query).get("site", [""])[0]
                body = PAGE.format(server=server_url, key=key, extra=extra).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                """Quiet: the test's output is the browser's."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def page_url(self, key: str) -> str:
        """A page of the shop with the snippet naming the site `key`."""
        return f"{self.origin}/shop/?site={key}"

    def __enter__(self) -> "CustomerSite":
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
