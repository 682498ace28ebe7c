"""The same files through django-storages' S3 backend, against a local
S3-compatible server (moto's, in a thread of this process)."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.tokens import create_token
from chat.models import Upload
from chat.services.changes import delete_message
from chat.services.uploads import purge_uploads

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.django_db

BUCKET = "chat-files"


@pytest.fixture(scope="module")
def s3_url():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_url, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_url,
                "default_acl": "private",
                "querystring_auth": True,
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user=user)[1]}")
    return client


def stored_keys(client) -> set[str]:
    return {
        item["Key"]
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    }


def test_files_live_in_the_bucket_and_answer_only_the_room(s3, make_user, make_room):
    """Upload, attach, download from S3; deleted and purged: gone from the bucket."""
    alice, bob, eve = make_user("alice"), make_user("bob"), make_user("eve")
    make_room("lobby", members=[alice, bob])
    image = io.BytesIO()
    Image.new("RGB", (50, 40), (1, 2, 3)).save(image, format="PNG")
    as_alice = api_for(alice)
    uploaded = as_alice.post(
        "/api/uploads/",
        {"file": SimpleUploadedFile("pic.png", image.getvalue())},
        format="multipart",
    ).json()
    stored = Upload.objects.get()
    assert stored_keys(s3) == {stored.file.name, stored.thumbnail.name}
    posted = as_alice.post(
        "/api/rooms/lobby/messages/",
        {"body": "x", "attachments": [uploaded["id"]]},
        format="json",
    ).json()
    response = api_for(bob).get(uploaded["url"])
    assert response.status_code == 200
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (
        50,
        40,
    )
    assert api_for(eve).get(uploaded["url"]).status_code == 404
    delete_message(user=alice, message_id=posted["id"])
    assert api_for(bob).get(uploaded["url"]).status_code == 404
    assert purge_uploads(now=timezone.now() + timedelta(days=2)) == 1
    assert stored_keys(s3) == set()
