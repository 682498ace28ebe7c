"""`manage.py vapidkeys`: a new VAPID key pair for Web Push, as environment lines."""

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management.base import BaseCommand


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_vapid_keys() -> tuple[str, str]:
    """A P-256 key pair: the public key as browsers take it (the uncompressed
    point), the private key as its 32 raw bytes, both base64url."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    raw = private.private_numbers().private_value.to_bytes(32, "big")
    return b64url(public), b64url(raw)


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair for Web Push as CHAT_VAPID_PUBLIC_KEY and "
        "CHAT_VAPID_PRIVATE_KEY lines, for the environment or .env. Keep the "
        "private one secret; a new pair ends every browser's subscription."
    )

    def handle(self, *args, **options):
        public, private = new_vapid_keys()
        self.stdout.write(f"CHAT_VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"CHAT_VAPID_PRIVATE_KEY={private}")
