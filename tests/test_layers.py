"""Dependencies point one way: core measures and judges; grading uses core; report draws
what both made; the plugin wires them into pytest; the command line (cli) puts grading on
platforms, running pytest as a subprocess. No layer imports one above it.

Read from the source, so an import that would only run on some path still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_sleepbench"

# For each layer, the top-level names its modules must never import.
_PYTEST = {"pytest", "_pytest", "xdist", "pytest_sleepbench._plugin", "pytest_sleepbench.plugin"}
FORBIDDEN = {
    "core": _PYTEST | {"pytest_sleepbench.grading", "pytest_sleepbench.report"},
    "grading": _PYTEST | {"pytest_sleepbench.report"},
    "report": _PYTEST,
    # It starts grading runs as `python -m pytest`, so it needs no pytest in its own process.
    "cli": _PYTEST,
}


def _imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """Absolute names of everything ``path`` (a module under ``root``, the package's folder)
    imports, relative imports resolved."""
    package = ["pytest_sleepbench", *path.relative_to(root).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _breaks(name: str, forbidden: set[str]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_module_imports_back_up_the_layers(layer: str) -> None:
    modules = sorted((PACKAGE / layer).glob("*.py"))
    assert modules
    wrong = {str(m.relative_to(PACKAGE)): sorted(n for n in _imports(m)
                                                   if _breaks(n, FORBIDDEN[layer]))
             for m in modules}
    assert {m: names for m, names in wrong.items() if names} == {}


def test_the_check_sees_a_relative_import_up_the_layers(tmp_path: Path) -> None:
    root = tmp_path / "pytest_sleepbench"
    (root / "core").mkdir(parents=True)
    probe = root / "core" / "bad.py"
    probe.write_text("from ..grading import checks\nfrom . import judge\n")
    names = _imports(probe, root)
    assert "pytest_sleepbench.grading.checks" in names
    assert _breaks("pytest_sleepbench.grading.checks", FORBIDDEN["core"])
    assert not _breaks("pytest_sleepbench.core.judge", FORBIDDEN["core"])


def _module_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of the package, by dotted name, and the package's modules it imports."""
    names = {}
    for path in root.rglob("*.py"):
        parts = ["pytest_sleepbench", *path.relative_to(root).with_suffix("").parts]
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def module(name: str) -> str | None:
        while name and name not in names:
            name = name.rpartition(".")[0]
        return name or None

    return {name: {m for n in _imports(path, root) if (m := module(n)) and m != name}
            for name, path in names.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules that import each other, directly or round a loop (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_modules_import_each_other() -> None:
    # Deferred imports inside functions count too: a cycle hidden in a function is still one
    # module that must know the other.
    assert _cycles(_module_graph()) == []


def test_the_cycle_check_sees_a_cycle_through_a_deferred_import(tmp_path: Path) -> None:
    root = tmp_path / "pytest_sleepbench"
    (root / "_plugin").mkdir(parents=True)
    (root / "_plugin" / "a.py").write_text("from .b import thing\n")
    (root / "_plugin" / "b.py").write_text("def f():\n    from . import a\n")
    assert _cycles(_module_graph(root)) == [["pytest_sleepbench._plugin.a",
                                              "pytest_sleepbench._plugin.b"]]
