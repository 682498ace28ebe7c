"""Moderation in the browser: the members' actions by role, the ban and mute
dialog with its presets, invite links with copy buttons, reporting a message,
the reports queue, the audit log, and the muted user's notice."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from chat.models import AuditEntry, Ban, Invite, Membership, Mute, Report
from tests.browser.conftest import PASSWORD
from tests.browser.test_app_shell import say

pytestmark = pytest.mark.e2e


def open_details(person) -> None:
    person.page.locator("#details-button").click()
    expect(person.page.locator("#details")).to_be_visible()


def member_line(person, name: str):
    return person.page.locator(f"#members li[data-username={name}]")


def choose_in_dialog(person, preset: str, reason: str = "") -> None:
    dialog = person.page.locator("#restrict-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label(preset).check()
    if reason:
        dialog.locator("#restrict-reason").fill(reason)
    dialog.locator("#restrict-confirm").click()
    expect(dialog).to_be_hidden()


def test_owner_sets_roles_mutes_and_bans_from_the_member_list(
    visitor, make_user, make_room
):
    """Owner: make a moderator, mute for a day (carol is told why and until
    when), ban for good (carol is out, listed as banned); the moderator sees
    no actions on the owner."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    make_room("lobby", owner=alice, members=[bob, carol])
    owner, moderator, member = visitor("alice"), visitor("bob"), visitor("carol")
    owner.log_in("/rooms/lobby/")
    member.log_in("/rooms/lobby/")
    open_details(owner)
    expect(owner.page.locator("#moderation-tools")).to_be_visible()

    member_line(owner, "bob").locator(".make-moderator").click()
    expect(member_line(owner, "bob").locator(".tag")).to_have_text("moderator")
    assert Membership.objects.get(user=bob).role == "moderator"

    # Cancel changes nothing; then mute carol for a day, with a reason.
    member_line(owner, "carol").locator(".mute-member").click()
    owner.page.locator("#restrict-cancel").click()
    expect(owner.page.locator("#restrict-dialog")).to_be_hidden()
    assert not Mute.objects.exists()
    member_line(owner, "carol").locator(".mute-member").click()
    owner.shot("moderation-dialog")
    choose_in_dialog(owner, "1 day", "too loud")
    expect(member_line(owner, "carol").locator(".muted-tag")).to_be_visible()
    mute = Mute.objects.get(user=carol)
    assert mute.reason == "too loud"
    left = mute.expires_at - timezone.now()
    assert timedelta(hours=23) < left <= timedelta(days=1)

    # carol tries to write: refused, and told until when.
    member.send("can I still talk?")
    notice = member.page.locator("#muted-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("until")
    expect(member.page.locator("#messages li.failed")).to_have_count(1)
    # Her page, opened again, says why and until when at once.
    member.open("/rooms/lobby/")
    member.wait_connected()
    expect(member.page.locator("#muted-notice .muted-reason")).to_contain_text(
        "too loud"
    )
    member.shot("moderation-muted")

    # The moderator: no role buttons, nothing on the owner, actions on carol.
    moderator.log_in("/rooms/lobby/")
    open_details(moderator)
    expect(moderator.page.locator("#members .make-owner")).to_have_count(0)
    expect(member_line(moderator, "alice").locator(".member-actions")).to_have_count(0)
    expect(member_line(moderator, "carol").locator(".ban-member")).to_be_visible()

    # Ban carol for good: out of the room, in the list of bans.
    member_line(owner, "carol").locator(".ban-member").click()
    choose_in_dialog(owner, "Forever (until lifted)")
    expect(member_line(owner, "carol")).to_have_count(0)
    expect(owner.page.locator("#ban-list li[data-username=carol]")).to_be_visible()
    expect(member.page.locator(".left-notice")).to_have_text(
        "You were banned from this room."
    )
    assert Ban.objects.get(user=carol).expires_at is None
    owner.page.locator("#ban-list li[data-username=carol] .lift-ban").click()
    expect(owner.page.locator("#ban-list li[data-username=carol]")).to_have_count(0)
    assert not Ban.objects.exists()
    for person in (owner, moderator, member):
        assert person.errors == []


def test_invite_link_is_copied_and_takes_a_stranger_in_after_login(
    visitor, make_user, make_room
):
    """Make a link (1 hour, 1 use), copy it, a stranger logs in through it and
    joins; then the link is used up; a revoked link leaves the list."""
    make_user("dave")
    alice = make_user("alice")
    make_room("den", owner=alice, private=True)
    owner = visitor("alice", permissions=["clipboard-read", "clipboard-write"])
    owner.log_in("/rooms/den/")
    open_details(owner)
    owner.page.locator("#invite-expires").select_option("3600")
    owner.page.locator("#invite-uses").fill("1")
    owner.page.locator("#invite-form button[type=submit]").click()
    item = owner.page.locator("#invite-list li")
    expect(item).to_have_count(1)
    invite = Invite.objects.get()
    url = f"{owner.base_url}/invite/{invite.code}/"
    expect(item.locator(".invite-url")).to_have_value(url)
    expect(item.locator(".invite-uses")).to_contain_text("0 of 1")
    item.locator(".copy-invite").click()
    expect(item.locator(".copy-status")).to_have_text("Copied")
    owner.shot("moderation-invites")
    assert owner.page.evaluate("navigator.clipboard.readText()") == url
    assert invite.max_uses == 1
    assert (
        timedelta(minutes=59) < invite.expires_at - timezone.now() <= timedelta(hours=1)
    )

    stranger = visitor("dave")
    stranger.open(f"/invite/{invite.code}/")
    expect(stranger.page).to_have_url(
        f"{stranger.base_url}/accounts/login/?next=/invite/{invite.code}/"
    )
    # The login page it was sent to brings it back to the invite.
    User.objects.filter(username="dave").update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    form = stranger.page.locator("main form")
    form.locator("#id_username").fill("dave")
    form.locator("#id_password").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(stranger.page).to_have_url(f"{stranger.base_url}/invite/{invite.code}/")
    expect(stranger.page.locator("#invite-room")).to_have_text("den")
    stranger.shot("invite-page")
    stranger.page.locator("#accept-invite").click()
    expect(stranger.page).to_have_url(f"{stranger.base_url}/rooms/den/")
    stranger.wait_connected()
    assert Membership.objects.filter(user__username="dave").exists()

    # Used up: gone from the owner's list once it is read again.
    owner.open("/rooms/den/")
    owner.wait_connected()
    open_details(owner)
    expect(owner.page.locator("#invite-list li")).to_have_count(0)
    owner.page.locator("#invite-expires").select_option("")
    owner.page.locator("#invite-form button[type=submit]").click()
    expect(owner.page.locator("#invite-list li")).to_have_count(1)
    expect(owner.page.locator("#invite-list .invite-expiry")).to_have_text(
        "never expires"
    )
    owner.page.locator("#invite-list .revoke-invite").click()
    expect(owner.page.locator("#invite-list li")).to_have_count(0)
    assert Invite.objects.filter(revoked_at__isnull=False).count() == 1
    assert owner.errors == []
    assert stranger.errors == []


def test_report_then_resolve_from_the_queue_and_see_the_audit_log(
    visitor, live, make_user, make_room
):
    """carol reports dave's message; alice mutes dave from the queue (1 hour);
    the queue empties and the audit log lists the mute and the resolution."""
    alice, carol, dave = make_user("alice"), make_user("carol"), make_user("dave")
    make_room("lobby", owner=alice, members=[carol, dave])
    say(live, dave, "buy cheap watches", room="lobby")
    reader = visitor("carol")
    reader.log_in("/rooms/lobby/")
    line = reader.page.locator("#messages li.message[data-id]").filter(
        has_text="buy cheap watches"
    )
    line.hover()
    line.locator(".actions").get_by_role("button", name="Report", exact=True).click()
    line.locator(".report-reason").fill("spam")
    line.locator(".report-box button[type=submit]").click()
    expect(line.locator(".report-status")).to_contain_text("Reported")
    report = Report.objects.get()
    assert (report.reason, report.snapshot["body"]) == ("spam", "buy cheap watches")
    # No report button on one's own words.
    say(live, carol, "my own words", room="lobby")
    mine = reader.page.locator("#messages li.message[data-id]").filter(
        has_text="my own words"
    )
    mine.hover()
    expect(mine.locator(".actions [data-action=report]")).to_have_count(0)

    owner = visitor("alice")
    owner.log_in("/rooms/lobby/")
    open_details(owner)
    owner.page.locator("#reports-link").click()
    expect(owner.page).to_have_url(f"{owner.base_url}/rooms/lobby/reports/")
    entry = owner.page.locator("#report-queue li.report")
    expect(entry).to_have_count(1)
    expect(entry.locator(".reported-body")).to_have_text("buy cheap watches")
    expect(entry.locator(".reason")).to_have_text("spam")
    owner.shot("reports-queue")
    entry.locator("button[data-action=mute]").click()
    choose_in_dialog(owner, "1 hour", "cool off")
    expect(entry).to_have_count(0)
    expect(owner.page.locator("#reports-empty")).to_be_visible()
    mute = Mute.objects.get(user=dave)
    assert (
        timedelta(minutes=59) < mute.expires_at - timezone.now() <= timedelta(hours=1)
    )
    assert Report.objects.get().action == "mute"

    owner.page.locator("a", has_text="Audit log").click()
    expect(owner.page).to_have_url(f"{owner.base_url}/rooms/lobby/audit/")
    log = owner.page.locator("#audit-log li")
    expect(log.first).to_have_attribute("data-action", "report_resolved")
    expect(owner.page.locator("#audit-log li[data-action=muted] .target")).to_have_text(
        "dave"
    )
    expect(owner.page.locator("#audit-log li[data-action=muted] .reason")).to_have_text(
        "cool off"
    )
    assert AuditEntry.objects.filter(room_slug="lobby").count() == 2
    owner.shot("audit-log")
    # A plain member may not open the queue.
    reader.open("/rooms/lobby/reports/")
    expect(reader.page.locator("h1")).to_have_text("Not allowed")
    assert owner.errors == []
    assert reader.errors == []
