"""The package's layers hold: each room imports only the rooms below it, no module imports
itself in a circle, and only ``md2tex.tex`` starts processes (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "md2tex"

#: room -> the rooms it may import (besides itself); "core" is the package's top-level
#: modules (options, diagnostics, document, escape, memo, version), which all may import
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "markdown": frozenset({"core"}),
    "math": frozenset({"core"}),
    "latex": frozenset({"core", "markdown", "math"}),
    "tex": frozenset({"core"}),
    "pipeline": frozenset({"core", "markdown", "math", "latex", "tex"}),
    "site": frozenset({"core", "markdown", "math", "latex", "tex", "pipeline"}),
    "cli": frozenset({"core", "markdown", "math", "latex", "tex", "pipeline", "site"}),
    "api": frozenset({"core", "markdown", "math", "latex", "tex", "pipeline", "site", "cli"}),
}
#: top-level modules that are rooms of their own
TOP_LEVEL_ROOMS = {"pipeline": "pipeline", "__init__": "api", "__main__": "api"}
#: modules that start processes
PROCESS_MODULES = ("subprocess", "multiprocessing", "pty")
PROCESS_CALLS = ("system", "popen", "spawnv", "spawnl", "execv", "execl", "fork")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    if len(parts) == 2:
        return TOP_LEVEL_ROOMS.get(parts[1], "core") if parts[1] not in ALLOWED else parts[1]
    return parts[1]


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8"), str(p))
            for p in PACKAGE.rglob("*.py")}


def _imports(module: str, tree: ast.Module, known: set[str]) -> Iterator[tuple[int, str]]:
    """Every md2tex module ``module`` imports, anywhere in the file (lazy imports count)."""
    package = module if module in known and _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "md2tex":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "md2tex":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield node.lineno, candidate if candidate in known else base


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    trees = _modules()
    known = set(trees)
    return {m: {target for _, target in _imports(m, t, known) if target != m}
            for m, t in trees.items()}


def test_rooms_import_only_rooms_below() -> None:
    trees = _modules()
    known = set(trees)
    wrong = []
    for module, tree in sorted(trees.items()):
        room = _room(module)
        for line, target in _imports(module, tree, known):
            other = _room(target)
            if other != room and other not in ALLOWED[room] and target != "md2tex":
                wrong.append(f"{module}:{line} ({room}) imports {target} ({other})")
            if target == "md2tex" and room != "api":
                wrong.append(f"{module}:{line} ({room}) imports the package's public API")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph or _is_package(nxt):
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_only_the_tex_room_starts_processes() -> None:
    wrong = []
    for module, tree in sorted(_modules().items()):
        if _room(module) == "tex":
            continue
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id == "os" and node.attr in PROCESS_CALLS):
                names = [f"os.{node.attr}"]
            for name in names:
                if name.split(".")[0] in PROCESS_MODULES or (name.startswith("os.") and (
                        name[3:] in PROCESS_CALLS)):
                    wrong.append(f"{module}:{node.lineno} uses {name}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("room", sorted(r for r in ALLOWED if r not in ("core", "api",
                                                                           "pipeline")))
def test_every_room_is_a_package_with_a_docstring(room: str) -> None:
    init = PACKAGE / room / "__init__.py"
    assert init.exists(), f"md2tex/{room}/ is not a package"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), room
