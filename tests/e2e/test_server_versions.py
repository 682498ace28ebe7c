"""daphne refuses to start on versions chat.realtime.guards was not tested with."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import server_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# An application module that makes the installed Twisted an untested one, then
# loads the real application: daphne runs chatsite.asgi as in production.
UNTESTED_TWISTED = """
import chat.realtime.guards as guards

guards.TESTED_VERSIONS["Twisted"] = ("0.0",)
from chatsite.asgi import application
"""


def run_daphne(tmp_path: Path, **env: str) -> subprocess.Popen:
    (tmp_path / "untested_asgi.py").write_text(UNTESTED_TWISTED)
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "daphne", "-p", "0", "untested_asgi:application"],
        env=server_env(PYTHONPATH=f"{tmp_path}:{root}", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_untested_versions_stop_daphne_with_one_line(tmp_path):
    """Exit status 1 and one line on stderr naming the version and the way out."""
    process = run_daphne(tmp_path)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr.splitlines() == [stderr.strip()]
    assert stderr.startswith("Untested server versions: Twisted ")
    assert "CHAT_ALLOW_UNTESTED_SERVER=1" in stderr


def test_the_override_lets_daphne_start(tmp_path):
    """With CHAT_ALLOW_UNTESTED_SERVER=1 daphne listens, after a warning."""
    process = run_daphne(tmp_path, CHAT_ALLOW_UNTESTED_SERVER="1", LOG_LEVEL="INFO")
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "Listening on" in line or len(lines) > 50:
                break
        assert any("Listening on" in line for line in lines), lines
        assert any("Untested server versions" in line for line in lines), lines
    finally:
        process.terminate()
        process.communicate(timeout=30)
