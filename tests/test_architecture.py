"""The module layout holds: the pure core imports no edge (sources, store, command line, web)
and no I/O library; no module grows past the size a reader can hold.

Imports are read from the source with :mod:`ast` (nothing is imported), including imports
inside functions; those under ``if TYPE_CHECKING:`` are for type checkers only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "harvester"

#: The pure core: rules and plain data, no database, no network, no files of their own.
PURE = frozenset(
    {
        "harvester.models",
        "harvester.errors",
        "harvester.normalise",
        "harvester.dedupe",
        "harvester.dedupe_keys",
        "harvester.dedupe_rules",
        "harvester.merge",
        "harvester.queue",
        "harvester.filters",
        "harvester.urls",
        "harvester.bulletin.model",
        "harvester.bulletin.citation",
        "harvester.bulletin.draft",
        "harvester.bulletin.export",
        "harvester.bulletin.references",
        "harvester.bulletin.render_html",
        "harvester.bulletin.render_md",
        "harvester.bulletin.render_docx",  # bytes in memory (python-docx)
        "harvester.bulletin.render_pdf",  # bytes in memory (WeasyPrint)
    }
)
#: Packages whose ``__init__`` a pure module's import runs (they must stay empty of imports).
PACKAGES = frozenset({"harvester", "harvester.bulletin"})
#: Libraries that do I/O or belong to an edge: never imported by the pure core.
EDGE_LIBRARIES = frozenset(
    {"sqlalchemy", "alembic", "requests", "httpx", "urllib3", "click", "starlette", "apscheduler"}
)
MAX_LINES = 600


def module_path(name: str) -> Path:
    parts = name.split(".")[1:]
    base = PACKAGE.joinpath(*parts)
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str) -> set[str]:
    """The modules ``name`` imports (absolute names; ``from harvester import queue`` gives
    ``harvester.queue``), outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(module_path(name).read_text(encoding="utf-8"))
    found: set[str] = set()
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node):
            skipped.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if node.module.startswith("harvester") and module_path(candidate).exists():
                    found.add(candidate)
    return found


def reachable(start: str) -> dict[str, str]:
    """Every module ``start`` imports, directly or through harvester modules, with the module
    that imports it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        current = todo.pop()
        for imported in imports_of(current):
            if imported in seen:
                continue
            seen[imported] = current
            if imported.startswith("harvester") and module_path(imported).exists():
                todo.append(imported)
    return seen


def all_modules() -> list[str]:
    return sorted(
        "harvester." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    )


@pytest.mark.parametrize("name", sorted(PURE))
def test_the_pure_core_imports_no_edge(name: str) -> None:
    assert module_path(name).exists(), f"{name} is missing"
    allowed = PURE | PACKAGES
    wrong = []
    for imported, importer in sorted(reachable(name).items()):
        top = imported.split(".")[0]
        if top == "harvester" and imported not in allowed or top in EDGE_LIBRARIES:
            wrong.append(f"{importer} imports {imported}")
    assert not wrong, f"{name} reaches beyond the pure core: " + "; ".join(wrong)


def test_the_check_sees_an_edge_import(tmp_path: Path) -> None:
    """The walk above finds imports inside functions and through other modules."""
    assert "harvester.store.works" in imports_of("harvester.review")  # a lazy import
    assert "sqlalchemy" in reachable("harvester.store.decisions")
    assert "harvester.config" not in imports_of("harvester.bulletin.draft")  # TYPE_CHECKING


def test_package_inits_import_nothing_heavy() -> None:
    for package in PACKAGES:
        harvester_imports = {i for i in imports_of(package) if i.startswith("harvester.")}
        assert not harvester_imports, f"{package}/__init__.py imports {harvester_imports}"


@pytest.mark.parametrize(
    "name",
    all_modules(),
)
def test_no_module_is_too_long(name: str) -> None:
    lines = len(module_path(name).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module_path(name)} has {lines} lines (at most {MAX_LINES})"
