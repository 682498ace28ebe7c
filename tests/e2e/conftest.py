"""A real daphne for the end-to-end tests, and the users that talk to it."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import User
from tests.conftest import PASSWORD
from tests.live import DaphneServer


@pytest.fixture(scope="session")
def live_server_log(tmp_path_factory):
    return tmp_path_factory.mktemp("daphne")


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, live_server_log):
    """One daphne for the session: heartbeat every second, the run's database."""
    server = DaphneServer(live_server_log / "daphne.log").start()
    yield server
    server.stop()


@pytest.fixture
def start_daphne(django_db_setup, live_server_log):
    """Start a daphne of the test's own (other settings); stopped after the test."""
    servers = []

    def start(*, args: tuple[str, ...] = (), **env: str) -> DaphneServer:
        server = DaphneServer(
            live_server_log / f"daphne-{len(servers)}.log", args=args, **env
        )
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass(frozen=True)
class Person:
    """A user as a client knows them: id, username, an API token."""

    user: User
    token: str

    @property
    def id(self) -> int:
        return self.user.pk

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def payload(self) -> dict:
        """How frames show this user."""
        return {"id": self.id, "username": self.username}


@pytest.fixture
def make_person(make_user, make_token):
    """Make a user with a token (in sync code: the server must see it committed).

    Only a user who logs in through the pages needs the password: hashing it
    takes a good part of a second.
    """

    def make(username: str, *, with_password: bool = False) -> Person:
        if with_password:
            user = make_user(username)
            user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
            user.save(update_fields=["password"])
        else:
            user = User.objects.create_user(username=username, password=None)
        return Person(user=user, token=make_token(user))

    return make


# Async tests may not touch the ORM: the people and rooms they talk about are
# made here, in sync fixtures, before the test's event loop runs.


@pytest.fixture
def alice(make_person) -> Person:
    return make_person("alice")


@pytest.fixture
def bob(make_person) -> Person:
    return make_person("bob")


@pytest.fixture
def carol(make_person) -> Person:
    return make_person("carol")


@pytest.fixture
def dave(make_person) -> Person:
    """In no room of the fixtures."""
    return make_person("dave")


@pytest.fixture
def lobby(make_room, alice, bob, carol) -> str:
    """A public room with alice, bob and carol in it; its slug."""
    return make_room("lobby", members=[alice.user, bob.user, carol.user]).slug
