"""Attachments through a real daphne: multipart read by Django (not Twisted),
the body limit while it arrives, and files on the WebSocket's messages."""

import uuid

import pytest

from tests.live import http_json, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def multipart(name: str, content: bytes) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def upload(server, token: str, name: str, content: bytes):
    body, headers = multipart(name, content)
    return http_json(
        "POST",
        f"{server.http_url}/api/uploads/",
        token=token,
        raw=body,
        headers=headers,
    )


@pytest.fixture
def mallory(make_person):
    return make_person("mallory")


@pytest.fixture
def server(start_daphne, tmp_path):
    return start_daphne(CHAT_MEDIA_ROOT=str(tmp_path), CHAT_UPLOAD_MAX_BYTES="200000")


async def test_a_file_sent_on_the_websocket_reaches_the_room(
    server, alice, bob, carol, lobby, mallory
):
    """Uploaded over HTTP, attached on `message.send`: each member's frame lists
    it and each member downloads it; a stranger gets 404."""
    status, _, uploaded = upload(server, alice.token, "notes.txt", b"x" * 150_000)
    assert status == 201, uploaded
    assert uploaded["size"] == 150_000
    async with (
        open_chat(server, alice.token) as a,
        open_chat(server, bob.token) as b,
    ):
        await a.send(
            type="message.send",
            room=lobby,
            body="",
            client_id="f-1",
            attachments=[uploaded["id"]],
        )
        ack = await a.recv()
        assert ack["type"] == "ack", ack
        frame = await b.recv()
        assert frame["type"] == "message"
        assert frame["attachments"] == [uploaded]
        assert (await a.recv())["attachments"] == [uploaded]
    status, headers, answer = http_json(
        "GET", f"{server.http_url}{uploaded['url']}", token=bob.token
    )
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment")
    assert answer == "x" * 150_000
    status, _, _ = http_json(
        "GET", f"{server.http_url}{uploaded['url']}", token=mallory.token
    )
    assert status == 404


def test_a_body_over_the_upload_limit_is_413(server, alice):
    """Past CHAT_UPLOAD_MAX_BYTES (and its framing): 413 too_long, nothing kept."""
    status, _, answer = upload(server, alice.token, "big.txt", b"x" * 300_000)
    assert status == 413, answer
    assert answer["code"] == "too_long"


def test_a_file_just_over_the_limit_is_413(server, alice):
    """Within the framing allowance but over the file limit: the handler's 413."""
    status, _, answer = upload(server, alice.token, "big.txt", b"x" * 200_001)
    assert status == 413, answer
    assert answer["code"] == "too_long"


def test_a_malformed_multipart_body_is_a_json_answer(server, alice):
    """Twisted no longer parses multipart (its empty 400): Django answers."""
    status, headers, answer = http_json(
        "POST",
        f"{server.http_url}/api/uploads/",
        token=alice.token,
        raw=b"--nope\r\ngarbage",
        headers={"Content-Type": "multipart/form-data; boundary=other"},
    )
    assert status == 400, answer
    assert headers["Content-Type"] == "application/json"
