"""The domain stays pure: no web, Socket.IO, Redis or gevent import anywhere in it."""

from __future__ import annotations

import ast
from pathlib import Path

import dashboard.domain

DOMAIN = Path(dashboard.domain.__file__).parent
FORBIDDEN = {"flask", "flask_socketio", "socketio", "engineio", "redis", "gevent", "valkey"}
ALLOWED_THIRD_PARTY = {"pydantic", "yaml"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_every_domain_module_is_checked() -> None:
    modules = {p.name for p in DOMAIN.glob("*.py")}
    assert {"errors.py", "programme.py", "commands.py", "events.py", "state.py"} <= modules
    assert {"sessions.py", "speakers.py", "announcements.py", "service.py", "view.py"} <= modules


def test_domain_imports_nothing_from_the_web_or_redis_layers() -> None:
    for path in sorted(DOMAIN.rglob("*.py")):
        tops = {name.split(".")[0] for name in _imports(path)}
        assert not tops & FORBIDDEN, f"{path.name} imports {sorted(tops & FORBIDDEN)}"
        assert "dashboard" not in tops, f"{path.name} imports the adapters (use relative imports)"


def test_domain_imports_only_stdlib_pydantic_and_yaml() -> None:
    import sys

    for path in sorted(DOMAIN.rglob("*.py")):
        tops = {name.split(".")[0] for name in _imports(path)}
        outside = {t for t in tops if t not in sys.stdlib_module_names} - ALLOWED_THIRD_PARTY
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_every_module_starts_with_future_annotations() -> None:
    for path in sorted(DOMAIN.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        futures = [
            n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"
        ]
        assert futures, f"{path.name} lacks `from __future__ import annotations`"
