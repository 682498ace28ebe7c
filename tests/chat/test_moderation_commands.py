"""`manage.py ban`, `mute` and `setrole`: the moderation services from the
shell, with clear errors, told to open connections and kept in the audit log."""

import json

import pytest
from django.core.management import CommandError

from chat import events
from chat.models import AuditEntry, Ban, Membership, Mute
from chat.services.restrictions import active_mute
from tests.chat.test_commands import layer_listener, run  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lobby(make_user, make_room):
    alice, bob = make_user("alice"), make_user("bob")
    return make_room("lobby", owner=alice, members=[bob])


def test_ban_removes_the_member_tells_their_sockets_and_lifts(
    lobby,
    layer_listener,  # noqa: F811 (the imported fixture)
    django_capture_on_commit_callbacks,
):
    bob = Membership.objects.get(user__username="bob").user
    layer_listener.listen(events.user_group(bob.pk))
    with django_capture_on_commit_callbacks(execute=True):
        output = run("ban", "lobby", "bob", "--reason", "spam", "--expires-in", "3600")
    assert output.startswith("Banned bob from 'lobby' until ")
    event = layer_listener.receive()
    assert json.loads(event["text"])["reason"] == "banned"
    ban = Ban.objects.get()
    assert (ban.user, ban.reason, ban.actor) == (bob, "spam", None)
    assert not Membership.objects.filter(user=bob).exists()
    assert (
        run("ban", "lobby", "bob", "--lift") == "Lifted the ban of bob from 'lobby'.\n"
    )
    assert not Ban.objects.exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", "actor")) == [
        ("banned", None),
        ("unbanned", None),
    ]


def test_mute_until_lifted_and_lift(lobby):
    assert run("mute", "lobby", "bob") == "Muted bob in 'lobby' until lifted.\n"
    bob = Membership.objects.get(user__username="bob").user
    assert active_mute(room=lobby, user=bob) is not None
    run("mute", "lobby", "bob", "--lift")
    assert not Mute.objects.exists()


def test_setrole_names_a_moderator_and_keeps_an_owner(lobby):
    assert run("setrole", "lobby", "bob", "moderator") == (
        "bob is now moderator of 'lobby'.\n"
    )
    assert Membership.objects.get(user__username="bob").role == "moderator"
    with pytest.raises(CommandError, match="last owner"):
        run("setrole", "lobby", "alice", "member")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("ban", "nowhere", "bob"), "No room named"),
        (("ban", "lobby", "ghost"), "ghost"),
        (("ban", "lobby", "bob", "--expires-in", "0"), "whole number"),
        (("mute", "lobby", "bob", "--lift"), "not muted"),
        (("ban", "lobby", "bob", "--lift"), "not banned"),
        (("setrole", "lobby", "bob", "king"), "invalid choice"),
    ],
)
def test_errors_are_clear(lobby, args, error):
    with pytest.raises(CommandError, match=error):
        run(*args)
