"""chat.services.rooms: rooms, memberships and direct conversations."""

import pytest
from django.db import IntegrityError, transaction

from chat import events
from chat.errors import ChatError
from chat.models import Conversation, Membership
from chat.selectors import room_owner
from chat.services.rooms import (
    aadd_member,
    add_member,
    create_room,
    direct_conversation_for,
    join_room,
    leave_room,
    remove_member,
)
from tests.chat.services.support import assert_refused

# --- direct conversations -------------------------------------------------------------


@pytest.mark.django_db
def test_direct_conversation_is_one_per_pair(alice, bob, carol):
    """Both orders give the same conversation, with exactly the two members."""
    first = direct_conversation_for(alice, bob)
    second = direct_conversation_for(bob, alice)
    assert first.pk == second.pk
    low, high = sorted([alice, bob], key=lambda user: user.pk)
    assert (first.direct_low, first.direct_high) == (low, high)
    assert set(
        Membership.objects.filter(conversation=first).values_list("user", flat=True)
    ) == {
        alice.pk,
        bob.pk,
    }
    other = direct_conversation_for(alice, carol)
    assert other.pk != first.pk
    assert Conversation.objects.filter(kind=Conversation.Kind.DIRECT).count() == 2


@pytest.mark.django_db
def test_database_refuses_a_second_conversation_for_a_pair(alice, bob):
    """The database itself keeps one direct conversation per pair of users."""
    existing = direct_conversation_for(alice, bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(
            kind=Conversation.Kind.DIRECT,
            direct_low_id=existing.direct_low_id,
            direct_high_id=existing.direct_high_id,
        )


# --- rooms ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_room_makes_its_owner_a_member(alice):
    """A new room's owner is its first member, with the owner role."""
    room = create_room(slug="team", owner=alice, title="The team", is_private=True)
    assert (room.slug, room.title, room.is_private, room_owner(room)) == (
        "team",
        "The team",
        True,
        alice,
    )
    membership = Membership.objects.get(conversation=room)
    assert (membership.user, membership.role) == (alice, Membership.Role.OWNER)


@pytest.mark.django_db
def test_create_room_without_owner_has_no_members():
    """A room made with no owner (a command's) has no members, its slug as title."""
    room = create_room(slug="general")
    assert room.title == "general"
    assert not room.is_private
    assert not Membership.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"slug": "Upper"}, "invalid"),
        ({"slug": ""}, "invalid"),
        ({"slug": "-dash-first"}, "invalid"),
        ({"slug": "has space"}, "invalid"),
        ({"slug": "a" * 51}, "invalid"),
        ({"slug": 5}, "invalid"),
        ({"slug": "fine", "title": "t" * 201}, "invalid"),
        ({"slug": "taken"}, "exists"),
    ],
    ids=[
        "upper",
        "empty",
        "dash_first",
        "space",
        "too_long",
        "not_text",
        "title",
        "taken",
    ],
)
def test_create_room_refusals(alice, kwargs, code):
    """Bad or taken room names are refused with a code; nothing else is made."""
    create_room(slug="taken", owner=alice)
    error = assert_refused(code, create_room, owner=alice, **kwargs)
    if code == "exists":
        assert error.status == 409
    assert Conversation.objects.count() == 1
    assert Membership.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_join_and_leave_a_public_room(alice, carol, lobby):
    """Anyone joins a public room once; leaving removes the membership once."""
    assert join_room(user=carol, slug="lobby") == (lobby, True)
    assert join_room(user=carol, slug="lobby") == (lobby, False)
    assert Membership.objects.filter(user=carol, conversation=lobby).count() == 1
    assert leave_room(user=carol, slug="lobby") == (lobby, True)
    assert leave_room(user=carol, slug="lobby") == (lobby, False)
    assert not Membership.objects.filter(user=carol, conversation=lobby).exists()


@pytest.mark.django_db(transaction=True)
def test_join_private_room_only_its_members(alice, carol, vault):
    """A stranger cannot join a private room; a member's join changes nothing."""
    assert_refused("forbidden", join_room, user=carol, slug="vault")
    assert not Membership.objects.filter(user=carol).exists()
    assert join_room(user=alice, slug="vault") == (vault, False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("call", [join_room, leave_room], ids=["join", "leave"])
def test_join_or_leave_unknown_room(carol, call):
    """Joining or leaving a room that does not exist is `not_found`."""
    assert_refused("not_found", call, user=carol, slug="nowhere")


@pytest.mark.django_db(transaction=True)
def test_add_member_only_by_owner_or_staff(alice, bob, carol, vault, make_user):
    """Only the owner or staff (or a trusted caller) adds members to a room."""
    assert_refused("forbidden", add_member, slug="vault", username="carol", actor=bob)
    assert not Membership.objects.filter(user=carol).exists()

    assert add_member(slug="vault", username="carol", actor=alice) == (
        vault,
        carol,
        True,
    )
    assert add_member(slug="vault", username="carol", actor=alice)[2] is False
    staff = make_user("staff", is_staff=True)
    assert add_member(slug="vault", username="bob", actor=staff)[2] is True
    dave = make_user("dave")
    assert add_member(slug="vault", username="dave", actor=None)[2] is True
    assert set(
        Membership.objects.filter(conversation=vault).values_list("user", flat=True)
    ) == {alice.pk, bob.pk, carol.pk, dave.pk}
    assert_refused(
        "not_found", add_member, slug="vault", username="nobody", actor=alice
    )


@pytest.mark.django_db(transaction=True)
def test_remove_member_only_by_owner(alice, bob, lobby):
    """A member may not remove another; the owner may, once."""
    assert_refused(
        "forbidden", remove_member, slug="lobby", username="alice", actor=bob
    )
    assert remove_member(slug="lobby", username="bob", actor=alice) == (
        lobby,
        bob,
        True,
    )
    assert remove_member(slug="lobby", username="bob", actor=alice)[2] is False
    assert not Membership.objects.filter(user=bob, conversation=lobby).exists()


@pytest.mark.django_db(transaction=True)
async def test_added_member_connections_are_told_to_subscribe(
    alice, carol, vault, listener
):
    """Adding a member tells their connections, once, to join the room's group."""
    await listener.join(events.user_group(carol.pk))
    await aadd_member(slug="vault", username="carol", actor=alice)
    assert await listener.receive() == {
        "type": events.SUBSCRIBE,
        "group": events.room_group(vault.pk),
        "text": events.room_joined_frame(vault),
        "origin": None,
    }
    await aadd_member(slug="vault", username="carol", actor=alice)
    await listener.assert_nothing()


def test_update_room_changes_title_and_privacy_only(make_room, alice):
    """update_room sets title and privacy; an empty title falls back to the slug."""
    from chat.services.rooms import update_room

    room = make_room("lobby", owner=alice)
    update_room(room=room, title="", is_private=True)
    room.refresh_from_db()
    assert (room.slug, room.title, room.is_private, room_owner(room)) == (
        "lobby",
        "lobby",
        True,
        alice,
    )
    with pytest.raises(ChatError, match="title"):
        update_room(room=room, title="x" * 201, is_private=False)
