"""accounts stands alone: it imports nothing of chat (issue 12, item 8)."""

import ast
from pathlib import Path

import pytest

ACCOUNTS = Path(__file__).resolve().parents[2] / "accounts"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path",
    sorted(ACCOUNTS.rglob("*.py")),
    ids=lambda path: str(path.relative_to(ACCOUNTS)),
)
def test_accounts_imports_nothing_of_chat(path):
    """No module of accounts imports chat, at the top or inside a function."""
    chat = sorted(
        name for name in imported_modules(path) if name.split(".")[0] == "chat"
    )
    assert chat == []
