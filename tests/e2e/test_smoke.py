import pytest
from websockets.asyncio.client import connect

from tests.live import recv_frame

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def test_article_url_connects_and_says_hello(daphne_server, make_user, make_token):
    """The article's client, `/chat?id=<id>&token=<token>`, gets a hello."""
    from asgiref.sync import sync_to_async

    user = await sync_to_async(make_user)("alice")
    token = await sync_to_async(make_token)(user)
    url = f"{daphne_server.ws_url}/chat?id={user.pk}&token={token}"
    async with connect(url) as ws:
        hello = await recv_frame(ws)
    assert hello == {
        "type": "hello",
        "user": {"id": user.pk, "username": "alice"},
        "heartbeat": 1,
        "last_id": 0,
    }
