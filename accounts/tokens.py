"""API tokens: made from `secrets`, stored as a digest, looked up by prefix.

A token reads `<prefix>.<secret>`; the prefix is stored in the clear so that a
token can be found by an index and recognised in the admin, the rest only as part
of the SHA-256 digest of the whole token, compared in constant time.
"""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import ApiToken, User

PREFIX_LENGTH = 8
PREFIX_PATTERN = re.compile(rf"[0-9a-f]{{{PREFIX_LENGTH}}}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    *, user: User, name: str = "", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """Make a token for `user`; returns the row and the plaintext, shown once."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    plaintext = f"{prefix}.{secrets.token_urlsafe(32)}"
    expires_at = None
    if expires_days is not None:
        expires_at = timezone.now() + timedelta(days=expires_days)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=prefix,
        digest=_digest(plaintext),
        expires_at=expires_at,
    )
    return token, plaintext


def authenticate_token(
    plaintext: str, *, claimed_user_id: str | None = None
) -> ApiToken | None:
    """The usable token that `plaintext` is, or None; touches its last use.

    With `claimed_user_id`, a token of another user is refused before anything
    is written, so that it costs what a wrong token costs (no timing tell).
    """
    if not plaintext or len(plaintext) > 200 or "." not in plaintext:
        return None
    prefix = plaintext.split(".", 1)[0]
    if not PREFIX_PATTERN.fullmatch(prefix) or not plaintext.isascii():
        return None  # not one of ours: no need to ask the database
    digest = _digest(plaintext)
    candidates = ApiToken.objects.usable().select_related("user").filter(prefix=prefix)
    for token in candidates:
        if hmac.compare_digest(token.digest, digest):
            if claimed_user_id is not None and claimed_user_id != str(token.user_id):
                return None
            _touch(token)
            return token
    return None


def _touch(token: ApiToken) -> None:
    """Record the use, at most once a minute, to spare the database a write."""
    now = timezone.now()
    interval = timedelta(seconds=settings.CHAT_TOKEN_TOUCH_SECONDS)
    if token.last_used_at is None or now - token.last_used_at > interval:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def revoke_token(token: ApiToken) -> None:
    """Revoke `token`: new requests are refused, open connections are closed."""
    from .access import token_revoked

    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
        token_revoked(token)
