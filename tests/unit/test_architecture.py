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


# The walls between the layers (dashboard/cli.py puts them together and is not walled).
ROOT = DOMAIN.parent.parent
PACKAGE = ROOT / "dashboard"


def _module_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _imported(source: str, package: str) -> set[str]:
    """Every module some code imports, relative imports resolved against its package; for
    `from package import name`, `package.name` too (the name may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            elif node.module:
                module = node.module
            else:
                continue
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _absolute_imports(path: Path) -> set[str]:
    """Every module a file imports (`_imported`), its package read from its place."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return _imported(path.read_text(encoding="utf-8"), package)


def test_the_walls_see_every_spelling_of_an_import() -> None:
    spellings = {
        "import dashboard.web.access": "dashboard.web.access",
        "from dashboard.web import access": "dashboard.web",
        "from dashboard import web": "dashboard.web",
        "from .. import web": "dashboard.web",
        "from ..web.access import allow": "dashboard.web.access",
        "import workers": "workers",
        "from workers import scheduler": "workers.scheduler",
    }
    for source, module in spellings.items():
        assert module in _imported(source, "dashboard.live"), source


def _offenders(folder: Path, forbidden: tuple[str, ...], skip: tuple[str, ...] = ()
               ) -> list[str]:
    """`skip`: files (paths from the project's root) the wall does not cover."""
    found = []
    for path in _module_files(folder):
        if str(path.relative_to(ROOT)) in skip:
            continue
        for name in _absolute_imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_the_service_never_imports_the_workers() -> None:
    assert _offenders(PACKAGE, ("workers",), skip=("dashboard/cli.py",)) == []


def test_the_live_path_never_imports_the_web_layer() -> None:
    assert _offenders(PACKAGE / "live", ("dashboard.web",)) == []


def test_the_store_imports_neither_the_web_layer_nor_the_live_path() -> None:
    assert _offenders(PACKAGE / "store", ("dashboard.web", "dashboard.live")) == []


def test_the_domain_imports_nothing_of_the_service_outside_itself() -> None:
    outside = ("dashboard.store", "dashboard.live", "dashboard.web", "dashboard.serve",
               "dashboard.app", "dashboard.cli", "dashboard.settings", "workers")
    assert _offenders(DOMAIN, outside) == []


# Libraries whose internals only dashboard/live/seams.py may touch, and the internals
# known to be used for speed (a new one goes there, probed, with a public fallback).
SEAM_LIBRARIES = ("gevent", "geventwebsocket", "engineio", "socketio", "flask_socketio")
KNOWN_INTERNALS = {"_sock", "_send_packet", "_send_eio_packet", "_write_with_headers",
                   "_sendall", "_get_socket", "raw_write", "sched_yield"}
SEAMS = PACKAGE / "live" / "seams.py"


def _internal_uses(path: Path) -> list[str]:
    """Attributes of the seam libraries' objects that are private or known internals."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases: set[str] = set()  # names bound to those libraries or to things imported from them
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SEAM_LIBRARIES:
                    aliases.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in SEAM_LIBRARIES:
                aliases.update(alias.asname or alias.name for alias in node.names)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            on_library = isinstance(base, ast.Name) and base.id in aliases
            if node.attr in KNOWN_INTERNALS or (private and on_library):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.FunctionDef) and node.name in KNOWN_INTERNALS:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} def {node.name}")
    return found


def test_library_internals_are_used_only_in_the_seams_module() -> None:
    files = [*_module_files(PACKAGE), *_module_files(ROOT / "workers")]
    uses = [use for path in files if path != SEAMS for use in _internal_uses(path)]
    assert uses == []


def test_the_seams_module_is_where_the_internals_are() -> None:
    uses = " ".join(_internal_uses(SEAMS))
    for internal in ("._sock", ".raw_write", "._send_eio_packet"):
        assert internal in uses


def test_imports_inside_functions_say_why() -> None:
    """Imports belong at the top; one inside a function names the cycle or the optional
    dependency (or the monkey-patching order) that keeps it there."""
    unexplained = []
    for path in [*_module_files(PACKAGE), *_module_files(ROOT / "workers")]:
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    near = " ".join(lines[max(0, node.lineno - 3):node.lineno]).lower()
                    if not any(w in near for w in ("cycle", "optional", "patch")):
                        unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []
