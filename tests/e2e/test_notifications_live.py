"""A real daphne emails and pushes what a user missed: the email caught by an
SMTP server the test starts (aiosmtpd), the pushes by a push service of its own
that decrypts them with the browser's keys."""

import asyncio
import email
import email.policy
import threading

import pytest
from aiosmtpd.controller import Controller

from chat.management.commands.vapidkeys import new_vapid_keys
from tests.live import free_port, http_json
from tests.push_service import PushService

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Inbox:
    """aiosmtpd's handler: every message it accepts, parsed."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append((list(envelope.rcpt_tos), parsed))
            self.arrived.notify_all()
        return "250 OK"

    def wait_until(self, predicate, timeout: float = 20) -> None:
        with self.arrived:
            self.arrived.wait_for(predicate, timeout)

    def wait_for(self, count: int, timeout: float = 20) -> list:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def push_service():
    service = PushService().start()
    yield service
    service.stop()


@pytest.fixture
def verified_bob(bob):
    bob.user.email = bob.user.verified_email = "bob@example.com"
    bob.user.save()
    return bob


async def test_a_missed_direct_message_is_emailed_through_smtp(
    start_daphne, smtp_server, alice, verified_bob, carol
):
    """Alice writes to bob, who has no page open: one email reaches the SMTP
    server with the text, who and where, and a link to the conversation, though
    two processes run the job; carol, with no confirmed address, gets none."""
    controller, inbox = smtp_server
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(controller.port),
        "DEFAULT_FROM_EMAIL": "chat@example.com",
        "CHAT_SITE_URL": "https://chat.example.com",
        "CHAT_EMAIL_DELAY_MINUTES": "0",
        "CHAT_NOTIFY_INTERVAL_SECONDS": "0.1",
    }
    # Two serving processes run the job on the one database: each email once.
    server = start_daphne(**env)
    start_daphne(**env)
    bob = verified_bob
    for to, body in (("bob", "lunch at noon?"), ("bob", "or at one"), ("carol", "hi")):
        status, _headers, answer = await asyncio.to_thread(
            http_json,
            "POST",
            f"{server.http_url}/api/dm/{to}/messages/",
            token=alice.token,
            body={"body": body, "client_id": f"{to}-{body}"},
        )
        assert status == 201, answer
    messages = await asyncio.to_thread(inbox.wait_for, 1)
    recipients, message = messages[0]
    assert recipients == ["bob@example.com"]
    assert message["From"] == "chat@example.com"
    assert (
        message["List-Unsubscribe"]
        .strip()
        .startswith("<https://chat.example.com/accounts/email/unsubscribe/")
    )

    def texts() -> list[str]:
        return [
            m.get_body(preferencelist=("plain",)).get_content()
            for _r, m in inbox.messages
        ]

    # The two messages fall in one round's batch or in two: each is in one
    # email, whichever process sent it.
    await asyncio.to_thread(inbox.wait_until, lambda: "lunch" in "".join(texts()))
    await asyncio.sleep(1)
    everything = "".join(texts())
    assert everything.count("lunch at noon?") == 1
    assert everything.count("or at one") == 1
    assert "alice, in a direct message" in everything
    assert "https://chat.example.com/dm/alice/?around=" in everything
    assert all(rcpt == ["bob@example.com"] for rcpt, _m in inbox.messages)
    subjects = {m["Subject"] for _r, m in inbox.messages}
    assert subjects <= {"1 message you missed", "2 messages you missed"}
    assert len(inbox.messages) <= 2
    assert bob.user.email == "bob@example.com"


async def test_a_missed_direct_message_is_pushed_and_cleared_once_read(
    start_daphne, push_service, alice, bob
):
    """Bob's browser subscribed over the API; alice's message reaches his push
    service encrypted for it, with a TTL and the conversation's topic; once bob
    reads it (another device), the silent "read" push with the same tag follows."""
    public, private = new_vapid_keys()
    server = start_daphne(
        CHAT_VAPID_PUBLIC_KEY=public,
        CHAT_VAPID_PRIVATE_KEY=private,
        CHAT_PUSH_HTTP_ENDPOINTS="1",
        CHAT_PUSH_TTL_SECONDS="120",
        CHAT_NOTIFY_INTERVAL_SECONDS="0.2",
    )
    status, _h, key = await asyncio.to_thread(
        http_json, "GET", f"{server.http_url}/api/push/subscriptions/", token=bob.token
    )
    assert status == 200
    assert key["public_key"] == public
    status, _h, answer = await asyncio.to_thread(
        http_json,
        "POST",
        f"{server.http_url}/api/push/subscriptions/",
        token=bob.token,
        body=push_service.subscription("bob-phone"),
    )
    assert status == 201, answer
    status, _h, sent = await asyncio.to_thread(
        http_json,
        "POST",
        f"{server.http_url}/api/dm/bob/messages/",
        token=alice.token,
        body={"body": "are you coming?", "client_id": "push-1"},
    )
    assert status == 201, sent
    (pushed,) = await asyncio.to_thread(push_service.wait_for, 1)
    assert pushed.payload["type"] == "message"
    assert pushed.payload["title"] == "alice"
    assert pushed.payload["body"] == "are you coming?"
    assert pushed.payload["url"] == f"/dm/alice/?around={sent['id']}"
    tag = pushed.payload["tag"]
    assert pushed.headers["ttl"] == "120"
    assert pushed.headers["topic"] == tag
    status, _h, _a = await asyncio.to_thread(
        http_json,
        "POST",
        f"{server.http_url}/api/dm/alice/read/",
        token=bob.token,
        body={"id": sent["id"]},
    )
    assert status == 200
    _first, cleared = await asyncio.to_thread(push_service.wait_for, 2)
    assert cleared.payload == {"type": "read", "tag": tag}
    await asyncio.sleep(0.6)
    assert len(push_service.received) == 2


def _cursor_past(message_id: int) -> bool:
    from django.db import connection

    from chat.models import NotificationCursor

    try:
        return NotificationCursor.objects.filter(
            last_message_id__gte=message_id
        ).exists()
    finally:
        connection.close()


async def test_a_mention_added_by_an_edit_is_emailed_through_smtp(
    start_daphne, smtp_server, alice, verified_bob, lobby
):
    """Alice's room message names nobody, and a round has looked at it; then
    she edits it to name bob: one email of the edited text reaches the SMTP
    server, for bob only."""
    controller, inbox = smtp_server
    server = start_daphne(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(controller.port),
        DEFAULT_FROM_EMAIL="chat@example.com",
        CHAT_EMAIL_DELAY_MINUTES="0",
        CHAT_NOTIFY_INTERVAL_SECONDS="0.1",
    )
    status, _h, sent = await asyncio.to_thread(
        http_json,
        "POST",
        f"{server.http_url}/api/rooms/{lobby}/messages/",
        token=alice.token,
        body={"body": "lunch?", "client_id": "edit-1"},
    )
    assert status == 201, sent
    for _ in range(200):
        if await asyncio.to_thread(_cursor_past, sent["id"]):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("no round looked at the message")
    assert inbox.messages == []
    status, _h, edited = await asyncio.to_thread(
        http_json,
        "PATCH",
        f"{server.http_url}/api/messages/{sent['id']}/",
        token=alice.token,
        body={"body": "lunch? @bob"},
    )
    assert status == 200, edited
    (recipients, message), *_ = await asyncio.to_thread(inbox.wait_for, 1)
    assert recipients == ["bob@example.com"]
    assert message["Subject"] == "1 message you missed"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "lunch? @bob" in text
    assert "alice in #lobby" in text
    await asyncio.sleep(1)
    assert len(inbox.messages) == 1
