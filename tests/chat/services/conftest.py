"""The people and rooms the services' tests share."""

import pytest


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def carol(make_user):
    return make_user("carol")


@pytest.fixture
def lobby(make_room, alice, bob):
    """A public room of alice's, with bob in it."""
    return make_room("lobby", owner=alice, members=[bob])


@pytest.fixture
def vault(make_room, alice):
    """A private room of alice's, with no one else in it."""
    return make_room("vault", owner=alice, private=True)
