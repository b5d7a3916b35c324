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

#: The layers, inside out, and the packages each may import. The pure core imports nothing
#: but itself; configuration reads files; the edges (sources, store, mail, render) talk to the
#: world; the use cases combine them; the entry points (service, web, command line) call use cases.
LAYERS: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "config": frozenset({"core", "config"}),
    "sources": frozenset({"core", "config", "sources"}),
    "store": frozenset({"core", "config", "store"}),
    "mail": frozenset({"core", "config", "mail"}),
    "render": frozenset({"core", "render"}),
    "usecases": frozenset({"core", "config", "sources", "store", "mail", "render", "usecases"}),
    "service": frozenset(
        {"core", "config", "sources", "store", "mail", "render", "usecases", "service"}
    ),
    "web": frozenset(
        {"core", "config", "sources", "store", "mail", "render", "usecases", "service", "web"}
    ),
    "cli": frozenset(
        {"core", "config", "sources", "store", "mail", "render", "usecases", "service", "web"}
        | {"cli"}
    ),
}
#: Libraries that do I/O or belong to an edge: never imported by the pure core.
EDGE_LIBRARIES = frozenset(
    {"sqlalchemy", "alembic", "requests", "httpx", "urllib3", "click", "starlette", "apscheduler"}
    | {"fastapi", "feedparser", "smtplib", "socket", "subprocess"}
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
    ``harvester.core.queue_rules``), outside ``if TYPE_CHECKING:`` blocks."""
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


def layer_of(name: str) -> str | None:
    """The layer of a harvester module (``None`` for the package root)."""
    parts = name.split(".")
    if len(parts) == 1:
        return None
    return "cli" if parts[1] == "__main__" else parts[1]


def test_every_package_is_a_layer() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(LAYERS), "a package of harvester/ is not a layer, or a layer is gone"
    loose = {p.name for p in PACKAGE.glob("*.py")} - {"__init__.py", "__main__.py"}
    assert not loose, f"modules outside every layer: {sorted(loose)}"


@pytest.mark.parametrize("name", all_modules())
def test_each_layer_imports_only_the_layers_inside_it(name: str) -> None:
    layer = layer_of(name)
    if layer is None:
        return
    allowed = LAYERS[layer]
    wrong = []
    for imported in sorted(imports_of(name)):
        top = imported.split(".")[0]
        if top == "harvester":
            other = layer_of(imported)
            if other is not None and other not in allowed:
                wrong.append(imported)
        elif layer == "core" and top in EDGE_LIBRARIES:
            wrong.append(imported)
    assert not wrong, f"{name} ({layer}) imports {', '.join(wrong)}"


def import_graph() -> dict[str, set[str]]:
    modules = set(all_modules())
    return {name: {i for i in imports_of(name) if i in modules} for name in modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    """Late imports inside functions count: a cycle is a cycle wherever its import stands."""
    assert cycles(import_graph()) == []


def test_the_checks_see_what_they_look_for() -> None:
    """The walk finds imports inside functions, skips TYPE_CHECKING blocks and finds cycles."""
    assert "harvester.store.works" in imports_of("harvester.usecases.review")  # a lazy import
    assert "harvester.config.settings" not in imports_of("harvester.usecases.bulletin.draft")
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_package_inits_import_nothing() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        name = "harvester." + ".".join(init.parent.relative_to(PACKAGE).parts)
        harvester_imports = {i for i in imports_of(name) if i.startswith("harvester.")}
        if layer_of(name) in {"sources", "store"}:
            continue  # the source registry and the store's Database live in their __init__
        assert not harvester_imports, f"{name}/__init__.py imports {harvester_imports}"


@pytest.mark.parametrize(
    "name",
    all_modules(),
)
def test_no_module_is_too_long(name: str) -> None:
    lines = len(module_path(name).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module_path(name)} has {lines} lines (at most {MAX_LINES})"
