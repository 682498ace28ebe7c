"""Browser push in a real browser: the account page registers /sw.js from our
origin and offers the button; the service worker shows a pushed message with
its conversation's tag (a newer one replaces it) and closes it on "read".

No push service is reachable here, so the pushes are handed to the service
worker by Chromium's DevTools protocol (ServiceWorker.deliverPushMessage); the
encrypted path to a push service is tested in tests/e2e/test_notifications_live.py.
"""

import json

import pytest
from playwright.sync_api import expect

from chat.management.commands.vapidkeys import new_vapid_keys
from tests.live import DaphneServer

pytestmark = pytest.mark.e2e

NOTIFICATIONS = """navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((shown) => shown.map((n) => ({title: n.title, body: n.body, tag: n.tag})))"""


@pytest.fixture
def push_server(transactional_db, tmp_path):
    public, private = new_vapid_keys()
    server = DaphneServer(
        tmp_path / "daphne-push.log",
        CHAT_VAPID_PUBLIC_KEY=public,
        CHAT_VAPID_PRIVATE_KEY=private,
    )
    server.start()
    yield server
    server.stop()


def test_the_service_worker_shows_replaces_and_clears_a_conversations_push(
    visitor, make_user, push_server
):
    make_user("alice")
    person = visitor("alice", base_url=push_server.http_url)
    person.page.context.grant_permissions(
        ["notifications"], origin=push_server.http_url
    )
    cdp = person.page.context.new_cdp_session(person.page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    person.log_in("/")
    person.open("/accounts/settings/")
    expect(person.page.locator("#push-subscribe")).to_be_visible()
    person.shot("account-settings")
    expect(person.page.locator("#push-status")).to_have_text(
        "Browser notifications are off in this browser."
    )
    person.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    (registration,) = {
        r["registrationId"]
        for r in registrations
        if not r.get("isDeleted") and r["scopeURL"] == f"{push_server.http_url}/"
    }

    def deliver(payload: dict) -> None:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": push_server.http_url,
                "registrationId": registration,
                "data": json.dumps(payload),
            },
        )

    tag = "conversation-7"
    for body in ("first", "second"):
        deliver(
            {
                "type": "message",
                "tag": tag,
                "title": "bob",
                "body": body,
                "url": "/dm/bob/",
                "message_id": 1,
            }
        )
    person.page.wait_for_function(
        f"{NOTIFICATIONS}.then((shown) => shown.length === 1 && "
        "shown[0].body === 'second')"
    )
    shown = person.page.evaluate(NOTIFICATIONS)
    assert shown == [{"title": "bob", "body": "second", "tag": tag}]
    deliver({"type": "read", "tag": tag})
    person.page.wait_for_function(f"{NOTIFICATIONS}.then((s) => s.length === 0)")
    assert person.errors == []
