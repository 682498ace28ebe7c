"""API tokens: made from `secrets`, stored as a digest, looked up by prefix.

A token reads `<prefix>.<secret>`; the prefix is stored in the clear so that a
token can be found by an index and recognised in the admin, the rest only as part
of the SHA-256 digest of the whole token, compared in constant time.

Every WebSocket handshake and API request looks its token up, so the lookup is
one plain SQL query (the ORM took ten times as long to build it as the database
to answer it), and the handshake records the token's use later, in a batch.
"""

import asyncio
import functools
import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, models
from django.utils import timezone

from .models import ApiToken, User

logger = logging.getLogger(__name__)

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
    The token and its user come without their date fields (loaded on access).
    """
    [token] = authenticate_tokens([(plaintext, claimed_user_id)])
    if token is not None and token.use_due:
        touch_tokens([token.pk])
    return token


def authenticate_tokens(
    credentials: list[tuple[str, str | None]],
) -> list[ApiToken | None]:
    """authenticate_token for each (plaintext, claimed user id), in one query.

    Nothing is written: each token found says in `use_due` whether its last use
    is due to be recorded (`touch_tokens`, or `last_use.note` at a handshake).
    """
    parsed = [_parse(plaintext) for plaintext, _ in credentials]
    prefixes = sorted({prefix for prefix, _ in filter(None, parsed)})
    usable: dict[str, list[ApiToken]] = {}
    for start in range(0, len(prefixes), LOOKUP_BATCH):
        for token in _usable_tokens(prefixes[start : start + LOOKUP_BATCH]):
            usable.setdefault(token.prefix, []).append(token)
    found: list[ApiToken | None] = []
    for parts, (_, claimed_user_id) in zip(parsed, credentials, strict=True):
        token = None
        if parts is not None:
            prefix, digest = parts
            token = next(
                (
                    t
                    for t in usable.get(prefix, ())
                    if hmac.compare_digest(t.digest, digest)
                ),
                None,
            )
        if token is not None and claimed_user_id not in (None, str(token.user_id)):
            token = None  # another user's token: refused like a wrong one
        found.append(token)
    return found


# Prefixes looked up in one query at most.
LOOKUP_BATCH = 200


def _parse(plaintext) -> tuple[str, str] | None:
    """(prefix, digest) of what may be one of our tokens, else None."""
    if not isinstance(plaintext, str):
        return None
    if not plaintext or len(plaintext) > 200 or "." not in plaintext:
        return None
    prefix = plaintext.split(".", 1)[0]
    if not PREFIX_PATTERN.fullmatch(prefix) or not plaintext.isascii():
        return None  # not one of ours: no need to ask the database
    return prefix, _digest(plaintext)


def _loaded_fields(model) -> list:
    """The fields read at authentication: all but dates (their values differ
    by database engine when read without the ORM; they load on access)."""
    return [
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, models.DateField | models.TimeField)
    ]


@functools.cache
def _lookup_sql(vendor: str, count: int) -> str:
    """SELECT the usable tokens with one of `count` prefixes, their users and
    whether their last use is due to be written. Parameters: the time before
    which a last use is old, now, True, then the prefixes."""
    q = connection.ops.quote_name
    token, user = ApiToken._meta, User._meta

    def column(alias: str, model, name: str) -> str:
        return f"{alias}.{q(model._meta.get_field(name).column)}"

    selected = [f"t.{q(f.column)}" for f in _loaded_fields(ApiToken)]
    selected += [f"u.{q(f.column)}" for f in _loaded_fields(User)]
    last_used = column("t", ApiToken, "last_used_at")
    expires = column("t", ApiToken, "expires_at")
    return (
        f"SELECT {', '.join(selected)}, "  # noqa: S608 - names from the models
        f"CASE WHEN {last_used} IS NULL OR {last_used} < %s THEN 1 ELSE 0 END "
        f"FROM {q(token.db_table)} t INNER JOIN {q(user.db_table)} u "
        f"ON u.{q(user.pk.column)} = {column('t', ApiToken, 'user')} "
        f"WHERE {column('t', ApiToken, 'revoked_at')} IS NULL "
        f"AND ({expires} IS NULL OR {expires} > %s) "
        f"AND {column('u', User, 'is_active')} = %s "
        f"AND {column('t', ApiToken, 'prefix')} IN ({', '.join(['%s'] * count)})"
    )


def _from_row(model, fields: list, values) -> models.Model:
    """A model instance of `fields` read as they come (booleans made bools)."""
    values = [
        bool(value) if isinstance(field, models.BooleanField) else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def _usable_tokens(prefixes: list[str]) -> list[ApiToken]:
    """Usable tokens with these prefixes, each with its user."""
    now = timezone.now()
    touch_before = now - timedelta(seconds=settings.CHAT_TOKEN_TOUCH_SECONDS)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _lookup_sql(connection.vendor, len(prefixes)),
            [adapt(touch_before), adapt(now), True, *prefixes],
        )
        rows = cursor.fetchall()
    token_fields, user_fields = _loaded_fields(ApiToken), _loaded_fields(User)
    found = []
    for row in rows:
        token = _from_row(ApiToken, token_fields, row[: len(token_fields)])
        token.user = _from_row(User, user_fields, row[len(token_fields) : -1])
        token.use_due = bool(row[-1])
        found.append(token)
    return found


def touch_tokens(token_ids: list[int]) -> None:
    """Record a use of these tokens now."""
    ApiToken.objects.filter(pk__in=token_ids).update(last_used_at=timezone.now())


class LastUse:
    """Writes the tokens' last use off the handshake's path: a handshake notes
    its token, and one write a second at most records every token noted since.

    At most a second of uses is lost if the process stops; `last_used_at` is
    for people reading the admin, never for a decision.
    """

    DELAY_SECONDS = 1.0
    BATCH = 500

    def __init__(self) -> None:
        self.pending: set[int] = set()
        self.flush: asyncio.Task | None = None

    def note(self, token: ApiToken) -> None:
        """Record `token`'s use within DELAY_SECONDS (from the event loop)."""
        loop = asyncio.get_running_loop()
        if self.flush is not None and self.flush.get_loop() is not loop:
            # The tests run one event loop after another: what an ended loop
            # had noted went with it.
            self.pending, self.flush = set(), None
        self.pending.add(token.pk)
        if self.flush is None or self.flush.done():
            self.flush = loop.create_task(self._write_later())

    async def _write_later(self) -> None:
        from chat.realtime.runtime import current

        handshake_db = current().handshake_db

        await asyncio.sleep(self.DELAY_SECONDS)
        ids, self.pending = sorted(self.pending), set()
        for start in range(0, len(ids), self.BATCH):
            try:
                await handshake_db.run(touch_tokens, ids[start : start + self.BATCH])
            except DatabaseError:
                logger.warning("could not record the tokens' last use", exc_info=True)


last_use = LastUse()


def revoke_token(token: ApiToken) -> None:
    """Revoke `token`: new requests are refused, open connections are closed."""
    from .access import token_revoked

    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
        token_revoked(token)
