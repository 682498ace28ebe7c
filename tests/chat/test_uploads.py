"""Attachments over HTTP: uploading, attaching, who may download, and purging.

The files are stored on the filesystem under a fresh MEDIA_ROOT per test.
"""

import io
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.tokens import create_token
from chat.models import Message, Upload
from chat.services.changes import delete_message
from chat.services.uploads import purge_uploads

pytestmark = pytest.mark.django_db

GPS_TAG = 0x8825  # the EXIF pointer to the GPS block


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


class Api:
    def __init__(self, user):
        self.user = user
        self.client = APIClient()
        token = create_token(user=user)[1]
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def upload(self, content: bytes, name="file.bin"):
        return self.client.post(
            "/api/uploads/",
            {"file": SimpleUploadedFile(name, content)},
            format="multipart",
        )

    def post(self, url, data):
        return self.client.post(url, data, format="json")

    def get(self, url):
        return self.client.get(url)


@pytest.fixture
def api(make_user):
    def make(username=None):
        return Api(make_user(username))

    return make


def png_with_gps(size=(64, 48)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[GPS_TAG] = {1: "N", 2: (51.0, 30.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


def test_an_upload_answers_its_description(api):
    """201 with id, name, size, type from the content, url, thumbnail, size."""
    alice = api("alice")
    response = alice.upload(png_with_gps(), name="../../holiday.png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        *("id", "name", "size", "content_type", "url"),
        *("thumbnail_url", "width", "height"),
    }
    assert body["name"] == "holiday.png"
    assert body["content_type"] == "image/jpeg"  # the content says so, not the name
    assert (body["width"], body["height"]) == (64, 48)
    assert body["url"].startswith(f"/api/uploads/{body['id']}/")
    assert body["thumbnail_url"] == body["url"] + "thumbnail/"


def test_the_served_image_has_no_exif(api):
    """What is served carries no EXIF (no GPS), and shows inline, privately."""
    alice = api("alice")
    sent = png_with_gps()
    assert Image.open(io.BytesIO(sent)).getexif().get(GPS_TAG) is not None
    upload = alice.upload(sent, name="me.jpg").json()
    response = alice.get(upload["url"])
    assert response.status_code == 200
    served = Image.open(io.BytesIO(body_of(response)))
    assert served.getexif().get(GPS_TAG) is None
    assert not served.getexif()
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    thumb = alice.get(upload["thumbnail_url"])
    assert thumb.status_code == 200
    assert not Image.open(io.BytesIO(body_of(thumb))).getexif()


def test_a_text_file_is_an_attachment_download(api):
    """A file that is not an image is downloaded, never shown in the page."""
    alice = api("alice")
    upload = alice.upload(b"<script>alert(1)</script>", name="page.html").json()
    assert upload["content_type"] == "text/plain"
    assert upload["thumbnail_url"] is None
    response = alice.get(upload["url"])
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment")
    assert body_of(response) == b"<script>alert(1)</script>"


def test_a_type_not_allowed_is_415(api):
    """The type comes from the content: an executable named .png is refused."""
    alice = api("alice")
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
    assert_error(alice.upload(elf, name="cat.png"), 415, "unsupported_type")
    assert not Upload.objects.exists()


def test_a_file_over_the_limit_is_413(api, settings):
    """CHAT_UPLOAD_MAX_BYTES: 413 too_long, nothing stored."""
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    alice = api("alice")
    assert_error(alice.upload(b"a" * 1001, name="a.txt"), 413, "too_long")
    assert alice.upload(b"a" * 1000, name="a.txt").status_code == 201
    assert Upload.objects.count() == 1


def test_the_quota_is_413(api, settings):
    """CHAT_UPLOAD_QUOTA_BYTES counts all of a user's stored files."""
    settings.CHAT_UPLOAD_QUOTA_BYTES = 1500
    alice, bob = api("alice"), api("bob")
    assert alice.upload(b"a" * 1000, name="a.txt").status_code == 201
    assert_error(alice.upload(b"a" * 1000, name="b.txt"), 413, "quota")
    assert bob.upload(b"a" * 1000, name="a.txt").status_code == 201


def test_a_decompression_bomb_is_400(api, settings):
    """An image over the pixel cap is refused before it is decoded."""
    settings.CHAT_UPLOAD_MAX_PIXELS = 10_000
    out = io.BytesIO()
    Image.new("1", (1000, 1000)).save(out, format="PNG")
    alice = api("alice")
    assert_error(alice.upload(out.getvalue(), name="bomb.png"), 400, "invalid")
    assert not Upload.objects.exists()


def test_multipart_is_still_refused_elsewhere(api, make_room):
    """Only POST /api/uploads/ reads multipart; a post of a message does not."""
    alice = api("alice")
    make_room("lobby", members=[alice.user])
    response = alice.client.post(
        "/api/rooms/lobby/messages/", {"body": "hi"}, format="multipart"
    )
    assert response.status_code == 415


def test_only_the_uploader_fetches_an_unattached_file(api):
    """Before it is attached, anyone but its uploader gets 404; so does no login."""
    alice, bob = api("alice"), api("bob")
    upload = alice.upload(b"notes", name="n.txt").json()
    assert alice.get(upload["url"]).status_code == 200
    assert bob.get(upload["url"]).status_code == 404
    assert Client().get(upload["url"]).status_code == 404
    wrong_key = f"/api/uploads/{upload['id']}/guess/"
    assert alice.get(wrong_key).status_code == 404


def test_a_session_fetches_too(api, make_user):
    """The pages' <img> asks with the session cookie."""
    alice = api("alice")
    upload = alice.upload(b"notes", name="n.txt").json()
    browser = Client()
    browser.force_login(alice.user)
    assert browser.get(upload["url"]).status_code == 200


def test_attached_files_reach_the_room_and_no_one_else(api, make_room):
    """A message with files: members fetch them, others get 404; empty body ok."""
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    make_room("lobby", private=True, members=[alice.user, bob.user])
    first = alice.upload(png_with_gps(), name="a.jpg").json()
    second = alice.upload(b"text", name="b.txt").json()
    response = alice.post(
        "/api/rooms/lobby/messages/",
        {"body": "", "client_id": "c1", "attachments": [first["id"], second["id"]]},
    )
    assert response.status_code == 201, response.content
    message = response.json()
    assert message["body"] == ""
    assert message["attachments"] == [first, second]
    history = bob.get("/api/rooms/lobby/messages/").json()["messages"]
    assert history[-1]["attachments"] == [first, second]
    assert bob.get(first["url"]).status_code == 200
    assert bob.get(second["thumbnail_url"] or second["url"]).status_code == 200
    assert eve.get(first["url"]).status_code == 404
    assert eve.get(first["thumbnail_url"]).status_code == 404


def test_a_retry_returns_the_message_with_its_files(api, make_room):
    """The same client_id again: 200 and the stored message, attachments and all."""
    alice = api("alice")
    make_room("lobby", members=[alice.user])
    upload = alice.upload(b"text", name="b.txt").json()
    data = {"body": "see", "client_id": "c1", "attachments": [upload["id"]]}
    assert alice.post("/api/rooms/lobby/messages/", data).status_code == 201
    again = alice.post("/api/rooms/lobby/messages/", data)
    assert again.status_code == 200
    assert again.json()["attachments"] == [upload]
    assert Message.objects.count() == 1


def test_attachments_must_be_mine_and_free(api, make_room):
    """Another's upload, one attached already, or more than 10: 400."""
    alice, bob = api("alice"), api("bob")
    make_room("lobby", members=[alice.user, bob.user])
    bobs = bob.upload(b"bob", name="b.txt").json()
    url = "/api/rooms/lobby/messages/"
    assert_error(
        alice.post(url, {"body": "x", "attachments": [bobs["id"]]}), 400, "invalid"
    )
    mine = alice.upload(b"mine", name="m.txt").json()
    assert (
        alice.post(url, {"body": "x", "attachments": [mine["id"]]}).status_code == 201
    )
    assert_error(
        alice.post(url, {"body": "y", "attachments": [mine["id"]]}), 400, "invalid"
    )
    assert_error(alice.post(url, {"body": "y", "attachments": "1"}), 400, "invalid")
    many = list(range(1, 12))
    assert_error(alice.post(url, {"body": "y", "attachments": many}), 400, "too_long")
    assert_error(alice.post(url, {"body": "", "attachments": []}), 400, "empty")
    assert Message.objects.count() == 1


def test_direct_message_files_reach_the_other_user(api):
    """A file sent to bob directly: bob fetches it, eve does not."""
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    upload = alice.upload(b"for bob", name="b.txt").json()
    response = alice.post(
        "/api/dm/bob/messages/", {"body": "here", "attachments": [upload["id"]]}
    )
    assert response.status_code == 201, response.content
    assert bob.get(upload["url"]).status_code == 200
    assert eve.get(upload["url"]).status_code == 404


def test_deleting_the_message_hides_its_files_at_once(api, make_room):
    """Deleted: 404 at once, and the files leave storage after the purge hours."""
    alice, bob = api("alice"), api("bob")
    make_room("lobby", members=[alice.user, bob.user])
    upload = alice.upload(png_with_gps(), name="a.jpg").json()
    posted = alice.post(
        "/api/rooms/lobby/messages/", {"body": "x", "attachments": [upload["id"]]}
    ).json()
    stored = Upload.objects.get()
    names = [stored.file.name, stored.thumbnail.name]
    assert all(default_storage.exists(name) for name in names)
    delete_message(user=alice.user, message_id=posted["id"])
    assert bob.get(upload["url"]).status_code == 404
    assert alice.get(upload["url"]).status_code == 404
    history = bob.get("/api/rooms/lobby/messages/").json()["messages"]
    assert history[-1]["attachments"] == []
    assert purge_uploads() == 0  # not yet
    assert purge_uploads(now=timezone.now() + timedelta(hours=25)) == 1
    assert not any(default_storage.exists(name) for name in names)
    assert not Upload.objects.exists()


def test_uploads_never_attached_are_purged(api):
    """An upload nobody attached leaves storage after CHAT_UPLOAD_PURGE_HOURS."""
    alice = api("alice")
    alice.upload(b"forgotten", name="f.txt")
    name = Upload.objects.get().file.name
    assert purge_uploads(now=timezone.now() + timedelta(hours=23)) == 0
    assert purge_uploads(now=timezone.now() + timedelta(hours=25)) == 1
    assert not default_storage.exists(name)


def test_purgemessages_removes_their_files(api, make_room):
    """`manage.py purgemessages` takes the messages' files with them."""
    alice = api("alice")
    make_room("lobby", members=[alice.user])
    upload = alice.upload(b"old", name="o.txt").json()
    alice.post(
        "/api/rooms/lobby/messages/", {"body": "x", "attachments": [upload["id"]]}
    )
    name = Upload.objects.get().file.name
    call_command("purgemessages", "--older-than", "0", stdout=StringIO())
    assert not Message.objects.exists()
    assert not Upload.objects.exists()
    assert not default_storage.exists(name)


def test_the_admin_lists_uploads_and_changes_none(api, admin_client):
    """Listed with their uploader; no add, change or delete (files leave with
    their message, through the service)."""
    alice = api("alice")
    upload_id = alice.upload(b"minutes of the meeting\n", name="minutes.txt").json()[
        "id"
    ]
    listing = admin_client.get("/admin/chat/upload/")
    assert listing.status_code == 200
    assert "minutes.txt" in listing.content.decode()
    assert "alice" in listing.content.decode()
    page = admin_client.get(f"/admin/chat/upload/{upload_id}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/chat/upload/add/").status_code == 403
    delete = admin_client.post(
        f"/admin/chat/upload/{upload_id}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403
    assert Upload.objects.filter(pk=upload_id).exists()
