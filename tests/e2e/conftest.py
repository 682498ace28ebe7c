import pytest

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

    def start(**env: str) -> DaphneServer:
        server = DaphneServer(live_server_log / f"daphne-{len(servers)}.log", **env)
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()
