"""accounts.access: losing access is announced after the commit, never before."""

import contextlib

import pytest
from django.db import transaction

from accounts.access import CLOSE_FORBIDDEN, access_lost, deactivate_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """What `access_lost` receivers get, in order."""
    found = []

    def receiver(sender, signal, **news):
        found.append(news)

    access_lost.connect(receiver, dispatch_uid="tests.received")
    yield found
    access_lost.disconnect(dispatch_uid="tests.received")


def test_access_lost_is_sent_once_after_the_commit(
    make_user, received, django_capture_on_commit_callbacks
):
    """Deactivating sends nothing until the commit, then exactly one signal."""
    alice = make_user("alice")
    with django_capture_on_commit_callbacks(execute=True):
        deactivate_user(alice)
        assert received == []
    assert received == [{"user_id": alice.pk, "code": CLOSE_FORBIDDEN}]


def test_a_rolled_back_change_sends_nothing(
    make_user, received, django_capture_on_commit_callbacks
):
    """A deactivation that is rolled back closes no socket."""
    alice = make_user("alice")
    with (
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        deactivate_user(alice)
        raise RuntimeError("rolled back")
    assert received == []
    alice.refresh_from_db()
    assert alice.is_active


def test_chat_listens_for_lost_access():
    """chat's AppConfig.ready connects the receiver that closes the sockets."""
    from chat.services.access import close_lost_access

    assert access_lost.has_listeners(sender=None)
    connected = [entry[0][0] for entry in access_lost.receivers]
    assert "chat.close_lost_access" in connected
    assert close_lost_access.__module__ == "chat.services.access"
