"""API tokens: made from `secrets`, only a prefix and a digest kept, usable until
expired or revoked, their last use recorded."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import (
    PREFIX_LENGTH,
    authenticate_token,
    create_token,
    revoke_token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_create_returns_row_and_plaintext_prefix_dot_secret(alice):
    """A new token reads `<prefix>.<secret>`; the row keeps the prefix and a name."""
    row, plaintext = create_token(user=alice, name="laptop")
    prefix, _, secret = plaintext.partition(".")
    assert len(prefix) == PREFIX_LENGTH
    assert len(secret) >= 40
    assert row.prefix == prefix
    assert row.name == "laptop"
    assert row.user == alice
    assert row.expires_at is None
    assert row.revoked_at is None
    assert row.last_used_at is None


def test_tokens_are_unique(alice):
    """Two tokens of the same user share neither plaintext nor prefix."""
    first = create_token(user=alice)
    second = create_token(user=alice)
    assert first[1] != second[1]
    assert first[0].prefix != second[0].prefix


def test_only_prefix_and_digest_are_stored(alice):
    """The database holds the SHA-256 digest and prefix, never the secret."""
    row, plaintext = create_token(user=alice)
    secret = plaintext.split(".", 1)[1]
    assert row.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608
        stored = " ".join(str(value) for row_ in cursor.fetchall() for value in row_)
    assert row.digest in stored
    assert secret not in stored
    assert plaintext not in stored


def test_authenticate_finds_the_token_and_its_user(alice):
    """The plaintext authenticates as its token, with the user loaded."""
    row, plaintext = create_token(user=alice)
    found = authenticate_token(plaintext)
    assert found == row
    assert found.user == alice


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda p: "",
        lambda p: "no-dot-at-all",
        lambda p: p + "x",
        lambda p: p[:-1],
        lambda p: p.split(".")[0] + ".",
        lambda p: "x" + p,
        lambda p: p.upper(),
        lambda p: p + "x" * 200,
        lambda p: "abcdefgh." + p.split(".", 1)[1],
        lambda p: "abc\x00defg." + p.split(".", 1)[1],
        lambda p: p.split(".")[0] + ".\x00" + p.split(".", 1)[1],
        lambda p: p + "é",
    ],
    ids=[
        "empty",
        "no_dot",
        "longer",
        "shorter",
        "prefix_only",
        "longer_prefix",
        "case_changed",
        "too_long",
        "other_prefix",
        "nul_in_prefix",
        "nul_in_secret",
        "not_ascii",
    ],
)
def test_anything_but_the_exact_plaintext_fails(alice, make_bad):
    """Only the exact plaintext authenticates; anything else gives None."""
    _, plaintext = create_token(user=alice)
    assert authenticate_token(make_bad(plaintext)) is None


def test_expired_token_fails_and_future_expiry_works(alice):
    """A token works until its expiry, and not after."""
    row, plaintext = create_token(user=alice, expires_days=30)
    assert row.expires_at - timezone.now() > timedelta(days=29)
    assert authenticate_token(plaintext) == row
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save(update_fields=["expires_at"])
    assert authenticate_token(plaintext) is None
    assert not ApiToken.objects.usable().filter(pk=row.pk).exists()


def test_revoked_token_fails_at_once(alice):
    """A revoked token stops authenticating at once; revoking again changes nothing."""
    row, plaintext = create_token(user=alice)
    assert authenticate_token(plaintext) == row
    revoke_token(row)
    assert authenticate_token(plaintext) is None
    revoked_at = ApiToken.objects.get(pk=row.pk).revoked_at
    assert revoked_at is not None
    revoke_token(ApiToken.objects.get(pk=row.pk))
    assert ApiToken.objects.get(pk=row.pk).revoked_at == revoked_at


def test_revoking_one_token_leaves_the_others(alice):
    """Revoking one token of a user leaves their other tokens working."""
    first, first_plain = create_token(user=alice)
    second, second_plain = create_token(user=alice)
    revoke_token(first)
    assert authenticate_token(first_plain) is None
    assert authenticate_token(second_plain) == second


def test_inactive_users_token_fails(alice):
    """A deactivated user's tokens stop working."""
    _, plaintext = create_token(user=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert authenticate_token(plaintext) is None


def test_use_touches_last_used_at(alice):
    """Authenticating records the time of use in the database."""
    row, plaintext = create_token(user=alice)
    before = timezone.now()
    authenticate_token(plaintext)
    last_used = ApiToken.objects.get(pk=row.pk).last_used_at
    assert last_used is not None
    assert before <= last_used <= timezone.now()


def test_last_used_at_written_at_most_once_a_minute(alice, settings):
    """A recent use is not written again; an older one is."""
    row, plaintext = create_token(user=alice)
    recent = timezone.now() - timedelta(seconds=settings.CHAT_TOKEN_TOUCH_SECONDS - 5)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=recent)
    authenticate_token(plaintext)
    assert ApiToken.objects.get(pk=row.pk).last_used_at == recent

    stale = timezone.now() - timedelta(seconds=settings.CHAT_TOKEN_TOUCH_SECONDS + 5)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=stale)
    authenticate_token(plaintext)
    assert ApiToken.objects.get(pk=row.pk).last_used_at > stale + timedelta(seconds=5)


def test_failed_authentication_touches_nothing(alice):
    """A wrong secret does not count as a use of the token."""
    row, plaintext = create_token(user=alice)
    authenticate_token(plaintext.split(".")[0] + ".wrong")
    assert ApiToken.objects.get(pk=row.pk).last_used_at is None


def test_token_claimed_for_another_user_fails_and_touches_nothing(alice):
    """`?id=` of someone else: refused like a wrong token, with no write (timing)."""
    row, plaintext = create_token(user=alice)
    assert authenticate_token(plaintext, claimed_user_id=str(alice.pk + 1)) is None
    assert ApiToken.objects.get(pk=row.pk).last_used_at is None
    assert authenticate_token(plaintext, claimed_user_id=str(alice.pk)) == row


def test_long_name_is_cut_to_fit(alice):
    """A name longer than the column is stored cut, not refused."""
    row, _ = create_token(user=alice, name="n" * 300)
    assert ApiToken.objects.get(pk=row.pk).name == "n" * 100
