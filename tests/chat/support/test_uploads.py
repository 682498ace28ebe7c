"""A visitor's files: uploaded with the visitor token (the members' limits,
types and quota), sent with `message.send`, downloaded only by the visitor
and the site's team; everyone else gets 404."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chat.errors import InvalidInput
from chat.models import Message, Upload
from chat.services import support
from chat.services import support_conversations as sc
from tests.chat.test_api import Api

from .conftest import SHOP

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def upload(site, token, content: bytes, name="photo.png", origin=SHOP):
    headers = {"HTTP_ORIGIN": origin}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return Client().post(
        f"/api/support/{site.public_key}/uploads/",
        {"file": SimpleUploadedFile(name, content)},
        **headers,
    )


def visitor_get(site, url, token):
    """A file's url as the visitor reaches it: under their site, token as Bearer."""
    path = url.replace("/api/uploads/", f"/api/support/{site.public_key}/uploads/")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().get(path, **headers)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_visitor_file_reaches_the_team_and_no_one_else(
    online, clock, site, li, wu, make_user, make_visitor
):
    """Ann attaches a picture to her first message: li (her agent) and wu (the
    team) download it, Ann too with her token; eve, Bob and no token get 404."""
    online.set(li)
    ann, bob = make_visitor("Ann"), make_visitor("Bob")
    ann_token = support.visitor_token(ann)
    sent = upload(site, ann_token, png())
    assert sent.status_code == 201, sent.content
    file = sent.json()
    assert file["content_type"] == "image/png"
    message, created = sc.visitor_send(
        visitor=ann, body="", client_id="v1", attachments=[file["id"]]
    )
    assert created
    assert [a["id"] for a in message.attachments] == [file["id"]]
    sc.take(agent=li, conversation_id=message.conversation_id)
    for agent in (li, wu):
        got = Api(agent).client.get(file["url"])
        assert got.status_code == 200, agent
        assert body_of(got).startswith(b"\x89PNG")
    assert Api(make_user("eve")).client.get(file["url"]).status_code == 404
    mine = visitor_get(site, file["url"], ann_token)
    assert mine.status_code == 200
    assert body_of(mine).startswith(b"\x89PNG")
    assert visitor_get(site, file["url"], support.visitor_token(bob)).status_code == 404
    assert visitor_get(site, file["url"], None).status_code == 404
    assert visitor_get(site, file["url"], "forged").status_code == 404


def test_visitor_gets_the_agents_file(online, clock, site, li, make_visitor):
    """li's attachment in Ann's conversation: Ann downloads it with her token."""
    online.set(li)
    ann = make_visitor("Ann")
    message, _ = sc.visitor_send(visitor=ann, body="Hello", client_id="v1")
    sc.take(agent=li, conversation_id=message.conversation_id)
    sent = Api(li).client.post(
        "/api/uploads/",
        {"file": SimpleUploadedFile("invoice.txt", b"total: 12\n")},
        format="multipart",
    )
    assert sent.status_code == 201
    file = sent.json()
    reply, _ = sc.agent_send(
        agent=li,
        conversation_id=message.conversation_id,
        body="Your invoice",
        attachments=[file["id"]],
    )
    assert reply.attachments[0]["name"] == "invoice.txt"
    got = visitor_get(site, file["url"], support.visitor_token(ann))
    assert got.status_code == 200
    assert body_of(got) == b"total: 12\n"


def test_unsent_file_is_its_uploaders_only(site, make_visitor):
    """Before it is sent, a visitor's file is theirs alone."""
    ann, bob = make_visitor("Ann"), make_visitor("Bob")
    file = upload(site, support.visitor_token(ann), b"notes\n", name="a.txt").json()
    assert visitor_get(site, file["url"], support.visitor_token(ann)).status_code == 200
    assert visitor_get(site, file["url"], support.visitor_token(bob)).status_code == 404


def test_visitor_cannot_attach_anothers_file(online, clock, site, li, make_visitor):
    """Bob's upload id in Ann's message: refused, nothing stored."""
    online.set(li)
    ann, bob = make_visitor("Ann"), make_visitor("Bob")
    file = upload(site, support.visitor_token(bob), b"bob's\n", name="b.txt").json()
    with pytest.raises(InvalidInput):
        sc.visitor_send(visitor=ann, body="hi", attachments=[file["id"]])
    assert not Message.objects.filter(body="hi").exists()
    assert Upload.objects.get(pk=file["id"]).message_id is None


def test_upload_refusals(site, make_visitor, settings):
    """No token 403, another origin 403, a wrong type 415, too big and over
    quota 413: the members' checks."""
    token = support.visitor_token(make_visitor("Ann"))
    assert upload(site, None, b"hi\n", name="a.txt").status_code == 403
    assert (
        upload(site, token, b"hi\n", name="a.txt", origin="https://evil.example")
    ).status_code == 403
    refused = upload(site, token, b"\x00\x01\x02binary", name="a.bin")
    assert refused.status_code == 415
    assert refused.json()["code"] == "unsupported_type"
    settings.CHAT_UPLOAD_MAX_BYTES = 10
    big = upload(site, token, b"x" * 20, name="big.txt")
    assert big.status_code == 413
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    settings.CHAT_UPLOAD_QUOTA_BYTES = 15
    assert upload(site, token, b"y" * 10, name="one.txt").status_code == 201
    over = upload(site, token, b"z" * 10, name="two.txt")
    assert over.status_code == 413
    assert over.json()["code"] == "quota"


def test_visitor_upload_path_has_the_file_body_limit(settings):
    """Twisted's guard and the middleware give the visitor's upload the file
    limit (not the JSON one) and every other support path the JSON one."""
    from chat import upload_handlers
    from chat.realtime.guards import body_limit_of

    files = upload_handlers.body_limit()
    assert body_limit_of(b"/api/support/site_ab-C/uploads/") == files
    assert body_limit_of(b"/api/uploads/?x=1") == files
    for path in (b"/api/support/site_ab/visitors/", b"/api/support/uploads/"):
        assert body_limit_of(path) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
