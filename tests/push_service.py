"""A Web Push service of the test's own: an HTTP server that receives the
encrypted pushes and decrypts them with the subscription's private keys, as a
browser would (no real push service is reachable from the tests)."""

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    """One push as the service got it: the path, headers, and the payload
    decrypted (None if it could not be)."""

    path: str
    headers: dict
    payload: dict | None


@dataclass
class BrowserKeys:
    """What a browser keeps for one subscription: its key pair and auth secret."""

    private: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private.public_key().public_bytes(
                serialization.Encoding.X962,
                serialization.PublicFormat.UncompressedPoint,
            )
        )


@dataclass
class PushService:
    """`start()`, then `subscription(name)` for each browser; `received` fills."""

    status: int = 201
    received: list[Received] = field(default_factory=list)
    keys: dict[str, BrowserKeys] = field(default_factory=dict)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> "PushService":
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                service.receive(self.path, dict(self.headers.items()), body)
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def subscription(self, name: str) -> dict:
        """A new browser subscription at `/push/<name>`, as toJSON() gives it."""
        keys = BrowserKeys(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.keys[f"/push/{name}"] = keys
        return {
            "endpoint": f"{self.url}/push/{name}",
            "keys": {"p256dh": keys.p256dh, "auth": b64url(keys.auth)},
        }

    def receive(self, path: str, headers: dict, body: bytes) -> None:
        keys = self.keys.get(path)
        payload = None
        if keys is not None and body:
            try:
                plain = http_ece.decrypt(
                    body,
                    private_key=keys.private,
                    auth_secret=keys.auth,
                    version=headers.get("Content-Encoding", "aes128gcm"),
                )
                payload = json.loads(plain)
            except Exception:  # noqa: S110 - a payload we cannot read stays None
                pass
        with self.arrived:
            self.received.append(
                Received(path, {k.lower(): v for k, v in headers.items()}, payload)
            )
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """Block until `count` pushes arrived in all; the ones there then."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            assert len(self.received) >= count, self.received
            return list(self.received)
