"""manage.py createroom, postmessage, purgemessages and purgechanges."""

import asyncio
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from chat import events
from chat.errors import InvalidInput
from chat.models import (
    ChangeHorizon,
    Conversation,
    Membership,
    Message,
    MessageChange,
    MessageRevision,
    Reaction,
)
from chat.selectors import room_owner, with_message_relations
from chat.services.changes import edit_message, react
from chat.services.messages import purge_messages
from tests.live import ROOT

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def layer_listener():
    """A channel on the layer, added to groups on demand; receive with a timeout."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    groups = []

    class Listener:
        def listen(self, group: str) -> None:
            async_to_sync(layer.group_add)(group, channel)
            groups.append(group)

        def receive(self, timeout: float = 2) -> dict:
            async def receive():
                return await asyncio.wait_for(layer.receive(channel), timeout)

            return async_to_sync(receive)()

        def assert_silent(self, timeout: float = 0.3) -> None:
            with pytest.raises(asyncio.TimeoutError):
                self.receive(timeout)

    yield Listener()
    for group in groups:
        async_to_sync(layer.group_discard)(group, channel)


# --- createroom ---------------------------------------------------------------------


def test_createroom_makes_a_public_room_with_its_owner(make_user):
    """createroom --owner makes a public room whose owner is its first member."""
    alice = make_user("alice")
    output = run("createroom", "lobby", "--title", "The lobby", "--owner", "alice")
    room = Conversation.objects.get(slug="lobby")
    assert room.kind == Conversation.Kind.ROOM
    assert room.title == "The lobby"
    assert room.is_private is False
    assert room_owner(room) == alice
    assert list(room.memberships.values_list("user__username", "role")) == [
        ("alice", Membership.Role.OWNER)
    ]
    assert output == "Created public room 'lobby' (The lobby), owned by alice.\n"


def test_createroom_private_without_owner():
    """--private makes a private room; without --owner it has no members."""
    output = run("createroom", "staff", "--private")
    room = Conversation.objects.get(slug="staff")
    assert room.is_private is True
    assert room.title == "staff"
    assert room_owner(room) is None
    assert not room.memberships.exists()
    assert output == "Created private room 'staff' (staff), no owner.\n"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["lobby"], "A room named 'lobby' exists already."),
        (["Bad Name"], "A room name is 1-50 lower-case letters, digits, '-' or '_'."),
        (["new", "--owner", "nobody"], "No active user named 'nobody'."),
    ],
)
def test_createroom_errors_are_clear(make_room, args, error):
    """A taken or malformed slug, or an unknown owner: a CommandError, no room."""
    make_room("lobby")
    with pytest.raises(CommandError) as excinfo:
        run("createroom", *args)
    assert str(excinfo.value) == error
    assert list(Conversation.objects.values_list("slug", flat=True)) == ["lobby"]


# --- postmessage --------------------------------------------------------------------


def test_postmessage_stores_as_the_owner_and_delivers_live(
    make_user, make_room, layer_listener, django_capture_on_commit_callbacks
):
    """Without --as the owner posts; the message is stored and fanned out once."""
    alice = make_user("alice")
    room = make_room("lobby", owner=alice)
    layer_listener.listen(events.room_group(room.pk))
    with django_capture_on_commit_callbacks(execute=True):
        output = run("postmessage", "lobby", "Hello, room")
    message = with_message_relations(Message.objects.all()).get()
    assert (message.conversation_id, message.sender, message.body) == (
        room.pk,
        alice,
        "Hello, room",
    )
    assert message.client_id
    assert output == f"Posted message {message.id} to 'lobby' as alice.\n"
    assert layer_listener.receive() == {
        "type": events.FRAME,
        "text": events.message_frame(message),
        "message_id": message.id,
    }
    layer_listener.assert_silent()


def test_postmessage_as_a_member(make_user, make_room):
    """--as USER posts as that member of the room."""
    alice, bob = make_user("alice"), make_user("bob")
    make_room("lobby", owner=alice, members=[bob])
    run("postmessage", "lobby", "hi from bob", "--as", "bob")
    assert list(Message.objects.values_list("sender__username", "body")) == [
        ("bob", "hi from bob")
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nowhere", "hi"], "No room named 'nowhere'."),
        (
            ["ownerless", "hi"],
            "Room 'ownerless' has no active owner: give the sender with --as USER.",
        ),
        (["lobby", "hi", "--as", "nobody"], "No active user named 'nobody'."),
        (
            ["lobby", "hi", "--as", "carol"],
            "You are not a member of 'lobby': join it first.",
        ),
        (["lobby", "   "], "A message cannot be empty."),
        (["lobby", "x" * 4001], "A message is at most 4000 characters (4001 sent)."),
    ],
)
def test_postmessage_errors_are_clear(
    make_user,
    make_room,
    layer_listener,
    django_capture_on_commit_callbacks,
    args,
    error,
):
    """Unknown room or user, no sender, a stranger, a bad body: nothing is kept."""
    alice = make_user("alice")
    make_user("carol")
    room = make_room("lobby", owner=alice)
    make_room("ownerless")
    layer_listener.listen(events.room_group(room.pk))
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError) as excinfo,
    ):
        run("postmessage", *args)
    assert str(excinfo.value) == error
    assert not Message.objects.exists()
    layer_listener.assert_silent()


# --- purgemessages ------------------------------------------------------------------


@pytest.fixture
def aged_messages(make_user, make_room):
    """Three messages, 40, 10 and 0 days old."""
    alice = make_user("alice")
    room = make_room("lobby", owner=alice)
    now = timezone.now()
    for age in (40, 10, 0):
        Message.objects.create(
            conversation=room,
            sender=alice,
            body=f"{age} days old",
            client_id=f"age-{age}",
            created_at=now - timedelta(days=age),
        )


def test_purgemessages_dry_run_counts_and_keeps(aged_messages):
    """--dry-run prints how many would go and deletes nothing."""
    output = run("purgemessages", "--older-than", "7", "--dry-run")
    assert output == "Would delete 2 messages older than 7 days.\n"
    assert Message.objects.count() == 3


def test_purgemessages_deletes_only_older_messages(aged_messages):
    """Messages older than DAYS are deleted and counted; newer ones stay."""
    output = run("purgemessages", "--older-than", "30")
    assert output == "Deleted 1 message older than 30 days.\n"
    assert sorted(Message.objects.values_list("body", flat=True)) == [
        "0 days old",
        "10 days old",
    ]


@pytest.mark.parametrize("days", ["-1", "36501", "1000000", "9" * 5000, "7.5", "x"])
def test_purgemessages_refuses_an_age_out_of_range(aged_messages, days):
    """--older-than outside 0-36500 is a CommandError naming the range."""
    with pytest.raises(CommandError, match="from 0 to 36500"):
        run("purgemessages", "--older-than", days)
    assert Message.objects.count() == 3


def test_purgemessages_takes_the_ends_of_its_range(aged_messages):
    """0 and 36500 days are both allowed."""
    assert run("purgemessages", "--older-than", "36500") == (
        "Deleted 0 messages older than 36500 days.\n"
    )
    assert run("purgemessages", "--older-than", "0", "--dry-run") == (
        "Would delete 3 messages older than 0 days.\n"
    )


def test_purge_service_refuses_an_age_out_of_range(aged_messages):
    """The service checks the range too, for callers other than the command."""
    with pytest.raises(InvalidInput, match="from 0 to 36500"):
        purge_messages(older_than_days=1_000_000)


def test_purgemessages_out_of_range_from_a_shell_is_no_traceback():
    """From a shell: the usage and the range on stderr, exit 2, no traceback."""
    result = subprocess.run(
        [sys.executable, "manage.py", "purgemessages", "--older-than", "1000000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--older-than: must be a whole number from 0 to 36500" in result.stderr


def test_purgemessages_requires_older_than():
    """--older-than is required: purging everything by accident is not possible."""
    with pytest.raises(CommandError, match="--older-than"):
        run("purgemessages")


# --- addmember ------------------------------------------------------------------------


def test_addmember_fills_a_private_room_and_tells_live_connections(
    make_user, make_room, layer_listener, django_capture_on_commit_callbacks
):
    """addmember puts a user in a private room; their sockets join it at once."""
    owner, bob = make_user("owner"), make_user("bob")
    room = make_room("secret", owner=owner, private=True)
    layer_listener.listen(events.user_group(bob.pk))

    with django_capture_on_commit_callbacks(execute=True):
        output = run("addmember", "secret", "bob")

    assert output == "Added bob to 'secret'.\n"
    assert Membership.objects.filter(conversation=room, user=bob).exists()
    event = layer_listener.receive()
    assert event["type"] == events.SUBSCRIBE
    assert event["group"] == events.room_group(room.pk)
    assert run("addmember", "secret", "bob") == "Already a member: bob to 'secret'.\n"
    layer_listener.assert_silent()


def test_addmember_remove_takes_the_user_out(
    make_user, make_room, layer_listener, django_capture_on_commit_callbacks
):
    """addmember --remove takes a member out and tells their sockets to leave."""
    bob = make_user("bob")
    room = make_room("lobby", members=[bob])
    layer_listener.listen(events.user_group(bob.pk))

    with django_capture_on_commit_callbacks(execute=True):
        output = run("addmember", "lobby", "bob", "--remove")

    assert output == "Removed bob from 'lobby'.\n"
    assert not Membership.objects.filter(conversation=room, user=bob).exists()
    assert layer_listener.receive()["type"] == events.UNSUBSCRIBE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nowhere", "bob"), "No room named 'nowhere'."),
        (("lobby", "nobody"), "No user named 'nobody'."),
    ],
)
def test_addmember_errors_are_clear(make_user, make_room, args, message):
    """An unknown room or user is a one-line CommandError, nothing changed."""
    make_user("bob")
    make_room("lobby")
    with pytest.raises(CommandError, match=message):
        run("addmember", *args)
    assert Membership.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["addmember", "r" * 51, "bob"], "room: must be 1 to 50 characters, not 51"),
        (["addmember", "lobby", "b" * 151], "username: must be 1 to 150 characters"),
        (["postmessage", "r" * 51, "hi"], "room: must be 1 to 50 characters, not 51"),
        (["postmessage", "lobby", "hi", "--as", "a" * 151], "--as: must be 1 to 150"),
        (["createroom", "lobby", "--owner", "a" * 151], "--owner: must be 1 to 150"),
    ],
)
def test_commands_name_the_range_of_a_text_argument(args, error):
    """A name longer than any stored one is refused with the range, before a lookup."""
    with pytest.raises(CommandError, match=error):
        run(*args)


# --- messages that change: purging them, and pruning the change log ----------------


@pytest.fixture
def changed_messages(make_user, make_room):
    """A 40-day-old message that was edited and reacted to, and a new one edited."""
    alice = make_user("alice")
    room = make_room("lobby", owner=alice)
    old = Message.objects.create(
        conversation=room,
        sender=alice,
        body="old",
        client_id="old",
        created_at=timezone.now() - timedelta(days=40),
    )
    new = Message.objects.create(
        conversation=room, sender=alice, body="new", client_id="new"
    )
    with override_settings(CHAT_EDIT_WINDOW_SECONDS=0):
        edit_message(user=alice, message_id=old.pk, body="old, edited")
    react(user=alice, message_id=old.pk, emoji="👍", add=True)
    edit_message(user=alice, message_id=new.pk, body="new, edited")
    return old, new


def test_purgemessages_takes_a_messages_changes_with_it(changed_messages):
    """A purged message leaves nothing behind: its reactions, earlier bodies and
    change log entries go too; another message's stay."""
    old, new = changed_messages
    assert run("purgemessages", "--older-than", "30") == (
        "Deleted 1 message older than 30 days.\n"
    )
    assert list(Message.objects.values_list("pk", flat=True)) == [new.pk]
    assert not MessageChange.objects.filter(message_id=old.pk).exists()
    assert not Reaction.objects.filter(message_id=old.pk).exists()
    assert not MessageRevision.objects.filter(message_id=old.pk).exists()
    assert list(MessageChange.objects.values_list("message_id", flat=True)) == [new.pk]


def test_purgemessages_dry_run_keeps_the_changes(changed_messages):
    """--dry-run deletes no change either."""
    count = MessageChange.objects.count()
    run("purgemessages", "--older-than", "30", "--dry-run")
    assert MessageChange.objects.count() == count


def test_purgechanges_drops_changes_older_than_the_retention(changed_messages):
    """Changes past CHAT_CHANGE_RETENTION_DAYS go; clients behind them must reset."""
    old, _ = changed_messages
    first = MessageChange.objects.order_by("id").first()
    MessageChange.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    assert run("purgechanges") == "Deleted 1 change older than 30 days.\n"
    assert not MessageChange.objects.filter(pk=first.pk).exists()
    assert MessageChange.objects.count() == 2
    assert ChangeHorizon.objects.get().pruned_through >= first.pk
    assert run("purgechanges") == "Deleted 0 changes older than 30 days.\n"
