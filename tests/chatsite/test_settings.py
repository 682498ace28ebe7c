"""Settings on a developer's checkout (.env) and in production, seen by a process."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import ROOT, free_port

SHOW_DEBUG = "from django.conf import settings; print(settings.DEBUG)"


def bare_env(tmp_path, **extra: str) -> dict:
    """The environment of a shell with nothing of ours set, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
        and not key.startswith("CHAT_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CHAT_ENV_FILE="",
    )
    env.update(extra)
    return env


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=bare_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def make_env_file(tmp_path) -> str:
    """`make .env` in an empty directory with the project's Makefile; its path."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    subprocess.run(
        ["make", "-s", ".env", f"PYTHON={sys.executable}"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(tmp_path / ".env")


def assert_one_line_error(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0]


def test_make_writes_env_once_with_debug_and_a_new_key(tmp_path):
    """`make install`'s .env: DEBUG=1 and a generated key, for its owner only."""
    path = make_env_file(tmp_path)
    text = Path(path).read_text()
    lines = dict(line.split("=", 1) for line in text.splitlines())
    assert lines["DEBUG"] == "1"
    assert len(lines["SECRET_KEY"]) >= 50
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    make_env_file(tmp_path)
    assert Path(path).read_text() == text  # kept, not regenerated
    other = tmp_path / "other"
    other.mkdir()
    assert Path(make_env_file(other)).read_text() != text


def test_git_ignores_the_env_file():
    """A developer's .env is never committed."""
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, timeout=30, check=False
    )
    assert result.returncode == 0


def test_manage_py_works_with_the_env_file_and_no_debug_variable(tmp_path):
    """After `make run`/`make test`, manage.py commands need no DEBUG=1."""
    path = make_env_file(tmp_path)
    result = manage(tmp_path, "shell", "-c", SHOW_DEBUG, CHAT_ENV_FILE=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
    result = manage(tmp_path, "migrate", "--noinput", "-v0", CHAT_ENV_FILE=path)
    assert result.returncode == 0, result.stderr


def test_the_environment_wins_over_the_env_file(tmp_path):
    """DEBUG=0 in the environment turns DEBUG off, whatever .env says."""
    path = make_env_file(tmp_path)
    result = manage(tmp_path, "shell", "-c", SHOW_DEBUG, CHAT_ENV_FILE=path, DEBUG="0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_settings_read_the_checkouts_env_file_by_default():
    """Without CHAT_ENV_FILE the file read is .env beside manage.py."""
    code = (
        "import chatsite.settings as s, os; "
        "os.environ.pop('CHAT_ENV_FILE', None); "
        "print(s.BASE_DIR / '.env')"
    )
    env = bare_env(ROOT, SECRET_KEY="k")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == str(ROOT / ".env")


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    """No .env, DEBUG off, no SECRET_KEY: one line saying so, no traceback."""
    result = manage(tmp_path, "check")
    assert_one_line_error(result, "SECRET_KEY must be set")


def test_daphne_refuses_to_start_without_a_secret_key(tmp_path):
    """daphne chatsite.asgi:application says the same in one line and exits."""
    result = subprocess.run(
        [sys.executable, "-m", "daphne", "-p", str(free_port())]
        + ["chatsite.asgi:application"],
        cwd=ROOT,
        env=bare_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(result, "SECRET_KEY must be set")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("DEBUG", "maybe", "DEBUG must be"),
        ("CHAT_RATE_BURST", "many", "CHAT_RATE_BURST must be a whole number"),
        ("CHAT_HEARTBEAT_SECONDS", "1.5", "CHAT_HEARTBEAT_SECONDS must be a whole"),
        ("CHAT_RATE_PER_SECOND", "fast", "CHAT_RATE_PER_SECOND must be a number"),
        ("CHAT_TYPING_INTERVAL_SECONDS", "nan", "must be a number"),
        ("DATABASE_URL", "nosuch://x", "DATABASE_URL cannot be used"),
        ("REDIS_URL", "http://localhost", "REDIS_URL must be"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be"),
        ("CHAT_EDIT_WINDOW_SECONDS", "-1", "CHAT_EDIT_WINDOW_SECONDS must be 0"),
        ("CHAT_CHANGE_RETENTION_DAYS", "0", "CHAT_CHANGE_RETENTION_DAYS must be"),
    ],
)
def test_a_malformed_setting_is_one_line_and_an_exit(tmp_path, name, value, words):
    """A bad value names the variable on one line of stderr; nothing starts."""
    result = manage(tmp_path, "check", SECRET_KEY="k", **{name: value})
    assert_one_line_error(result, words)


def test_daphne_names_a_malformed_setting_in_one_line(tmp_path):
    """daphne with a malformed setting: the same one line, a non-zero exit."""
    env = bare_env(tmp_path, SECRET_KEY="k", CHAT_RATE_BURST="many")
    result = subprocess.run(
        [sys.executable, "-m", "daphne", "-p", str(free_port())]
        + ["chatsite.asgi:application"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(result, "CHAT_RATE_BURST must be a whole number")
