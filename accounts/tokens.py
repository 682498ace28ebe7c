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
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, connection, models
from django.utils import timezone

from .models import ApiToken, User, usable_at

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)

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
        for row in _usable_tokens(prefixes[start : start + LOOKUP_BATCH]):
            usable.setdefault(row.prefix, []).append(row)
    found: list[ApiToken | None] = []
    for parts, (_, claimed_user_id) in zip(parsed, credentials, strict=True):
        token: ApiToken | None = None
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


# Stand-ins compiled into the lookup's SQL, replaced by the real values per call.
_NOW = datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC)
_TOUCH_BEFORE = datetime(2000, 1, 1, 0, 0, 2, tzinfo=UTC)


@functools.cache
def _lookup_sql(vendor: str, count: int) -> tuple[str, tuple, tuple]:
    """The usable tokens (accounts.models.usable_at) with one of `count`
    prefixes, their users and whether their last use is due to be written.

    Compiled by the ORM once per engine and count (building it per call costs
    more than the database's answer): the SQL, where each parameter comes from
    (a constant, "now", "touch" or a prefix's index) and the selected columns.
    """
    stand_ins = [f"prefix-{i}" for i in range(count)]
    token_fields, user_fields = _loaded_fields(ApiToken), _loaded_fields(User)
    queryset = (
        ApiToken.objects.filter(usable_at(_NOW), prefix__in=stand_ins)
        .select_related("user")
        .only(
            *(f.name for f in token_fields),
            *(f"user__{f.name}" for f in user_fields),
        )
        .annotate(
            last_use_due=models.Case(
                models.When(
                    models.Q(last_used_at__isnull=True)
                    | models.Q(last_used_at__lt=_TOUCH_BEFORE),
                    then=models.Value(1),
                ),
                default=models.Value(0),
            )
        )
        .order_by()
    )
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    adapt = connection.ops.adapt_datetimefield_value
    named: dict[object, str | int] = {
        adapt(_NOW): "now",
        adapt(_TOUCH_BEFORE): "touch",
    }
    named.update({prefix: i for i, prefix in enumerate(stand_ins)})
    sources = tuple(
        ("value", value) if named.get(value) is None else ("name", named[value])
        for value in params
    )
    columns = tuple(
        alias if alias == "last_use_due" else column.target
        for column, _, alias in compiler.select
    )
    return sql, sources, columns


def _from_row(model: type[M], fields: list, values) -> M:
    """A model instance of `fields` read as they come (booleans made bools)."""
    values = [
        bool(value) if isinstance(field, models.BooleanField) else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def _usable_tokens(prefixes: list[str]) -> list[ApiToken]:
    """Usable tokens with these prefixes, each with its user."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    known = {
        "now": adapt(now),
        "touch": adapt(now - timedelta(seconds=settings.CHAT_TOKEN_TOUCH_SECONDS)),
    }
    sql, sources, columns = _lookup_sql(connection.vendor, len(prefixes))
    params = [
        value
        if kind == "value"
        else known[value]
        if isinstance(value, str)
        else prefixes[value]
        for kind, value in sources
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        read: dict[type[models.Model], tuple[list, list]] = {
            ApiToken: ([], []),
            User: ([], []),
        }
        use_due = False
        for column, value in zip(columns, row, strict=True):
            if column == "last_use_due":
                use_due = bool(value)
            else:
                fields, values = read[column.model]
                fields.append(column)
                values.append(value)
        token = _from_row(ApiToken, *read[ApiToken])
        token.user = _from_row(User, *read[User])
        token.use_due = use_due
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

    def __init__(self, database) -> None:
        self.database = database
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
        await asyncio.sleep(self.DELAY_SECONDS)
        ids, self.pending = sorted(self.pending), set()
        for start in range(0, len(ids), self.BATCH):
            try:
                await self.database.run(touch_tokens, ids[start : start + self.BATCH])
            except DatabaseError:
                logger.warning("could not record the tokens' last use", exc_info=True)


def revoke_token(token: ApiToken) -> None:
    """Revoke `token`: new requests are refused, open connections are closed."""
    from .access import token_revoked

    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
        token_revoked(token)
