"""Roles, kicks, bans, timed mutes and the audit log (chat.services.moderation,
chat.services.rooms.set_role): who may act on whom, what each refuses, that an
expiry ends a restriction with no job run, and the entry each action writes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import AuditEntry, Ban, Membership, Mute
from chat.services import moderation
from chat.services.changes import store_deletion, store_edit, store_reaction
from chat.services.messages import store_message, store_messages
from chat.services.rooms import add_member, join_room, set_role
from tests.chat.services.support import assert_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def mod(make_user, lobby):
    """dave, a moderator of the lobby."""
    dave = make_user("dave")
    Membership.objects.create(
        conversation=lobby, user=dave, role=Membership.Role.MODERATOR
    )
    return dave


def entries() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("id").values_list(
            "actor_name", "action", "target_name", "room_slug", "reason"
        )
    )


def expire(model, user) -> None:
    """Move a restriction's end into the past, as time passing would."""
    past = timezone.now() - timedelta(seconds=1)
    model.objects.filter(user=user).update(expires_at=past)


def test_the_owner_names_a_moderator_and_the_log_says_so(alice, bob, lobby):
    """set_role to moderator: the role is stored and one role_changed entry
    keeps who, whom, and from what to what."""
    membership = set_role(slug="lobby", username="bob", role="moderator", actor=alice)
    assert membership.role == "moderator"
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target, entry.room) == (
        alice,
        "role_changed",
        bob,
        lobby,
    )
    assert entry.detail == {"from": "member", "to": "moderator"}


def test_a_moderator_cannot_set_roles(mod, lobby):
    """Only owners and staff set roles: forbidden, and nothing is logged."""
    assert_refused(
        "forbidden", set_role, slug="lobby", username="bob", role="owner", actor=mod
    )
    assert not AuditEntry.objects.exists()


def test_an_unknown_role_is_invalid(alice, lobby):
    assert_refused(
        "invalid", set_role, slug="lobby", username="bob", role="king", actor=alice
    )


def test_a_moderator_kicks_a_member_but_not_an_owner_or_moderator(
    make_user, mod, alice, bob, lobby
):
    """dave kicks bob (logged); kicking alice (owner) or erin (moderator) is
    forbidden and leaves them in."""
    erin = make_user("erin")
    Membership.objects.create(
        conversation=lobby, user=erin, role=Membership.Role.MODERATOR
    )
    room, user, changed = moderation.kick(
        slug="lobby", username="bob", actor=mod, reason="spam"
    )
    assert (room, user, changed) == (lobby, bob, True)
    assert not Membership.objects.filter(user=bob, conversation=lobby).exists()
    for target in ("alice", "erin"):
        assert_refused(
            "forbidden", moderation.kick, slug="lobby", username=target, actor=mod
        )
    assert (
        Membership.objects.filter(conversation=lobby, user__in=[alice, erin]).count()
        == 2
    )
    assert entries() == [("dave", "kicked", "bob", "lobby", "spam")]


def test_a_plain_member_cannot_kick(alice, bob, lobby):
    assert_refused(
        "forbidden", moderation.kick, slug="lobby", username="alice", actor=bob
    )


def test_a_kicked_member_may_join_a_public_room_again(alice, bob, lobby):
    moderation.kick(slug="lobby", username="bob", actor=alice)
    _, joined = join_room(user=bob, slug="lobby")
    assert joined


def test_a_ban_removes_and_refuses_rejoin_and_adding_until_it_expires(
    alice, bob, lobby
):
    """bob, banned for an hour: out, his join and his being added forbidden with
    a detail that says banned and until when; once the hour is past (no job
    run), he joins."""
    ban = moderation.ban(
        slug="lobby", username="bob", actor=alice, reason="rude", expires_in=3600
    )
    assert ban.expires_at is not None
    assert not Membership.objects.filter(user=bob, conversation=lobby).exists()
    error = assert_refused("forbidden", join_room, user=bob, slug="lobby")
    until = ban.expires_at.isoformat().replace("+00:00", "Z")
    assert "banned" in error.detail
    assert until in error.detail
    error = assert_refused("forbidden", add_member, slug="lobby", username="bob")
    assert "banned" in error.detail
    expire(Ban, bob)
    _, joined = join_room(user=bob, slug="lobby")
    assert joined
    assert entries() == [("alice", "banned", "bob", "lobby", "rude")]
    assert AuditEntry.objects.get().detail == {"expires_at": until}


def test_a_ban_without_expiry_holds_until_lifted(alice, bob, lobby):
    moderation.ban(slug="lobby", username="bob", actor=alice)
    error = assert_refused("forbidden", join_room, user=bob, slug="lobby")
    assert "until the ban is lifted" in error.detail
    moderation.unban(slug="lobby", username="bob", actor=alice)
    assert join_room(user=bob, slug="lobby")[1]
    assert [e[1] for e in entries()] == ["banned", "unbanned"]


def test_lifting_no_ban_is_not_found(alice, bob, lobby):
    assert_refused(
        "not_found", moderation.unban, slug="lobby", username="bob", actor=alice
    )


def test_an_expired_ban_cannot_be_lifted_and_is_not_listed(alice, bob, lobby):
    moderation.ban(slug="lobby", username="bob", actor=alice, expires_in=60)
    assert [b.user for b in moderation.bans_of(slug="lobby", actor=alice)] == [bob]
    expire(Ban, bob)
    assert moderation.bans_of(slug="lobby", actor=alice) == []
    assert_refused("not_found", moderation.unban, slug="lobby", username="bob")


def test_a_stranger_can_be_banned_before_coming(make_user, alice, lobby):
    carol = make_user("carol")
    moderation.ban(slug="lobby", username="carol", actor=alice)
    assert_refused("forbidden", join_room, user=carol, slug="lobby")


def test_nobody_bans_or_mutes_themselves(alice, lobby):
    assert_refused(
        "invalid", moderation.ban, slug="lobby", username="alice", actor=alice
    )
    assert_refused(
        "invalid", moderation.mute, slug="lobby", username="alice", actor=alice
    )


def test_the_last_owner_cannot_be_banned_by_staff(make_user, alice, lobby):
    staff = make_user("root", is_staff=True)
    assert_refused(
        "last_owner", moderation.ban, slug="lobby", username="alice", actor=staff
    )
    assert not Ban.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("value", [0, -5, "soon", 1.5, True, 10**12])
def test_a_bad_expires_in_is_invalid(alice, bob, lobby, value):
    assert_refused(
        "invalid",
        moderation.mute,
        slug="lobby",
        username="bob",
        actor=alice,
        expires_in=value,
    )
    assert not Mute.objects.exists()


def test_a_muted_member_still_reads_but_cannot_send_edit_or_react(alice, bob, lobby):
    """bob's send, edit and reaction are refused with `muted` and its until;
    his deletion of his own message and his reading are not; after expiry he
    sends again."""
    earlier, _ = store_message(sender=bob, room="lobby", body="hi")
    mute = moderation.mute(slug="lobby", username="bob", actor=alice, expires_in=600)
    until = mute.expires_at.isoformat().replace("+00:00", "Z")
    error = assert_refused("muted", store_message, sender=bob, room="lobby", body="x")
    assert error.extra == {"until": until}
    assert until in error.detail
    assert_refused("muted", store_edit, user=bob, message_id=earlier.id, body="y")
    assert_refused(
        "muted", store_reaction, user=bob, message_id=earlier.id, emoji="👍", add=True
    )
    expire(Mute, bob)
    message, created = store_message(sender=bob, room="lobby", body="back")
    assert created
    store_deletion(user=bob, message_id=earlier.id)


def test_a_muted_sender_costs_only_their_message_in_a_batch(alice, bob, lobby):
    moderation.mute(slug="lobby", username="bob", actor=alice)
    results = store_messages(
        [
            {"sender": bob, "room": "lobby", "body": "no", "client_id": "b1"},
            {"sender": alice, "room": "lobby", "body": "yes", "client_id": "a1"},
        ]
    )
    assert results[0].code == "muted"
    assert results[0].extra == {"until": None}
    assert results[1][1] is True


def test_unmute_lets_them_write_and_is_logged(alice, bob, lobby):
    moderation.mute(slug="lobby", username="bob", actor=alice, reason="calm down")
    moderation.unmute(slug="lobby", username="bob", actor=alice)
    assert store_message(sender=bob, room="lobby", body="thanks")[1]
    assert entries() == [
        ("alice", "muted", "bob", "lobby", "calm down"),
        ("alice", "unmuted", "bob", "lobby", ""),
    ]


def test_a_mute_given_again_replaces_the_first(alice, bob, lobby):
    moderation.mute(slug="lobby", username="bob", actor=alice, expires_in=60)
    moderation.mute(slug="lobby", username="bob", actor=alice)
    assert Mute.objects.get().expires_at is None


def test_a_moderator_deleting_someones_message_is_logged(mod, bob, lobby):
    message, _ = store_message(sender=bob, room="lobby", body="oops")
    store_deletion(user=mod, message_id=message.id)
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target, entry.room) == (
        mod,
        "message_deleted",
        bob,
        lobby,
    )
    assert entry.detail == {"message_id": message.id}


def test_deleting_ones_own_message_is_not_logged(bob, lobby):
    message, _ = store_message(sender=bob, room="lobby", body="oops")
    store_deletion(user=bob, message_id=message.id)
    assert not AuditEntry.objects.exists()


def test_a_command_acting_without_an_actor_is_logged_as_the_system(bob, lobby):
    moderation.ban(slug="lobby", username="bob")
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_name, entry.action) == (None, "", "banned")
