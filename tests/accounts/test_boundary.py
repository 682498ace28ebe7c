"""accounts stands alone: it imports nothing of chat (issue 12, item 8)."""

import ast
import gc
from pathlib import Path

import pytest

ACCOUNTS = Path(__file__).resolve().parents[2] / "accounts"


def parse_quietly(path: Path) -> ast.Module:
    """Parse with the garbage collector held off.

    CPython 3.11.7 raises "AST constructor recursion depth mismatch" when a
    collection runs finalizers (here: tasks an earlier test left on a closed
    loop) in the middle of building the tree; collecting first and pausing
    the collector keeps this test about imports, not about the tests before it.
    """
    gc.collect()
    gc.disable()
    try:
        return ast.parse(path.read_text(), filename=str(path))
    finally:
        gc.enable()


def imported_modules(path: Path) -> set[str]:
    tree = parse_quietly(path)
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
