"""manage.py createtoken: a new token, printed once, alone on stdout."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import authenticate_token


def run(*args: str, stderr: StringIO | None = None) -> str:
    out = StringIO()
    call_command("createtoken", *args, stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_prints_a_working_token_alone_on_stdout(make_user):
    """stdout is the plaintext and nothing else, so `$(createtoken u)` is a token."""
    alice = make_user("alice")
    err = StringIO()
    output = run("alice", "--name", "laptop", stderr=err)
    assert output.endswith("\n")
    plaintext = output.strip()
    assert "\n" not in plaintext
    token = ApiToken.objects.get()
    assert token.user == alice
    assert token.name == "laptop"
    assert token.expires_at is None
    assert plaintext.startswith(f"{token.prefix}.")
    assert authenticate_token(plaintext) == token
    # The description is for the person at the terminal, without the secret.
    assert "alice" in err.getvalue()
    assert plaintext not in err.getvalue()


@pytest.mark.django_db
def test_expires_days_sets_the_expiry(make_user):
    """--expires-days D makes a token that expires D days from now."""
    make_user("alice")
    before = timezone.now()
    run("alice", "--expires-days", "7")
    token = ApiToken.objects.get()
    assert before + timedelta(days=7) <= token.expires_at
    assert token.expires_at <= timezone.now() + timedelta(days=7)
    assert token.name == "cli"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nobody"], "No user named 'nobody'."),
        (
            ["alice", "--expires-days", "0"],
            "Error: argument --expires-days: must be a whole number from 1 to 3650, "
            "not '0'",
        ),
        (
            ["alice", "--expires-days", "1000000000"],
            "Error: argument --expires-days: must be a whole number from 1 to 3650, "
            "not '1000000000'",
        ),
        (
            ["alice", "--expires-days", "9" * 30],
            "Error: argument --expires-days: must be a whole number from 1 to 3650, "
            f"not '{'9' * 20}…'",
        ),
        (
            ["alice", "--name", "x" * 101],
            "Error: argument --name: must be 1 to 100 characters, not 101",
        ),
        (
            ["x" * 151],
            "Error: argument username: must be 1 to 150 characters, not 151",
        ),
    ],
)
def test_bad_arguments_fail_clearly(make_user, args, error):
    """An unknown user or a bad option is a CommandError; no token is made."""
    make_user("alice")
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    assert str(excinfo.value) == error
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_inactive_user_gets_no_token(make_user):
    """A deactivated user's token would never work, so none is made."""
    make_user("alice", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        run("alice")
    assert not ApiToken.objects.exists()
