"""The layout of processors/: the engine's modules import each other without a circle.

Every import counts, ``if TYPE_CHECKING:`` and function-level ones included (mypy and mypyc read
them all): a circle there is a circle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import processors

PACKAGE = Path(processors.__file__).resolve().parent
ROOT = PACKAGE.parent


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            for name in names:
                # ``from processors import decisions`` imports processors.decisions; a package's
                # own __init__ (run first by any of its submodules) is not an edge of the design.
                if name in files and name != module and not module.startswith(name + "."):
                    deps.add(name)
        graph[module] = deps
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_circle_in_processors() -> None:
    graph = _graph()
    assert "processors.engine" in graph["processors.driver"], "the graph sees the imports"
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_decisions_never_see_the_engine() -> None:
    graph = _graph()
    assert "processors.engine" not in graph["processors.decisions"]
    assert "processors.engine" not in graph["processors.context"]
    assert "processors.engine" not in graph["processors.identity"]
    assert graph["processors.state"] <= {"processors.rules"}, "state depends on no other engine module"


def test_store_lives_with_the_state_types() -> None:
    from processors import engine, state

    assert engine.Store is state.Store
    assert state.Store.__module__ == "processors.state"
