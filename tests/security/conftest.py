"""The security tests talk to real daphne processes: the end-to-end fixtures."""

from tests.e2e.conftest import (  # noqa: F401 - fixtures, used by name
    alice,
    bob,
    carol,
    daphne_server,
    dave,
    live_server_log,
    lobby,
    make_person,
    start_daphne,
)
