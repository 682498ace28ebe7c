"""The project's own tooling: the layering and types checked by `make lint`,
and the split of the server's requirements from the developers'."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Tools of the tests and the linters: never needed to run the server.
DEVELOPMENT_ONLY = {
    "pytest",
    "pytest-django",
    "pytest-asyncio",
    "pytest-timeout",
    "playwright",
    "hypothesis",
    "schemathesis",
    "ruff",
    "import-linter",
    "mypy",
    "django-stubs",
    "websockets",
}


def run(*command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def requirements(name: str) -> dict[str, str]:
    """{package: pinned version} of a requirements file (includes skipped)."""
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-r "):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==([0-9][^\s]*)", line)
        assert match, f"{name}: not pinned with ==: {line!r}"
        found[match[1].lower()] = match[3]
    return found


def test_import_contracts_are_kept():
    """accounts imports no chat, chat's layers point down, no cycles."""
    result = run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "accounts is independent of chat KEPT" in result.stdout


def test_typed_modules_are_clean_under_mypy():
    """Services, selectors, search and tokens type-check with django-stubs."""
    makefile = (ROOT / "Makefile").read_text()
    paths = re.search(r"^MYPY_PATHS := (.+)$", makefile, re.MULTILINE)[1].split()
    assert paths == [
        "chat/realtime",
        "chat/services",
        "chat/selectors.py",
        "chat/search",
        "accounts/tokens.py",
        "accounts/email.py",
    ]
    result = run(sys.executable, "-m", "mypy", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_server_requirements_hold_no_development_tool():
    """requirements.txt is the server's alone; every line of both files pinned."""
    server = requirements("requirements.txt")
    development = requirements("requirements-dev.txt")
    assert {"django", "channels", "daphne"} <= set(server)
    assert set(server) & DEVELOPMENT_ONLY == set()
    assert set(development) >= DEVELOPMENT_ONLY
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def dry_run(target: str) -> str:
    """What `make <target>` would run on a fresh checkout (no .venv yet)."""
    result = run("make", "-n", target, "VENV=/nonexistent/venv")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_installs_only_the_server():
    """`make run` installs requirements.txt and not the development stack."""
    commands = dry_run("run")
    assert "-r requirements.txt" in commands
    assert "requirements-dev.txt" not in commands


def test_make_test_and_lint_install_both():
    """`make test` and `make lint` install the server's and the developers'."""
    for target in ("test", "lint"):
        commands = dry_run(target)
        assert "-r requirements.txt" in commands, target
        assert "-r requirements-dev.txt" in commands, target
    lint = dry_run("lint")
    assert "lint-imports" in lint
    assert (
        "mypy chat/realtime chat/services chat/selectors.py chat/search "
        "accounts/tokens.py" in lint
    )


def test_the_services_tests_mirror_the_services():
    """tests/chat/services/test_<m>.py for each service module it tests, no drawer."""
    tests = ROOT / "tests" / "chat" / "services"
    assert not (ROOT / "tests" / "chat" / "test_services.py").exists()
    names = sorted(path.stem[len("test_") :] for path in tests.glob("test_*.py"))
    assert names
    for name in names:
        assert (ROOT / "chat" / "services" / f"{name}.py").exists(), name
