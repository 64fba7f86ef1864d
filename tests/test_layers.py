"""Dependencies point one way: grading uses core, the plugin uses both, core uses neither.

Read from the source, so an import that would only run on some path still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_sleepbench"

# For each layer, the top-level names its modules must never import.
FORBIDDEN = {
    "core": {"pytest", "_pytest", "xdist", "pytest_sleepbench._plugin",
             "pytest_sleepbench.grading", "pytest_sleepbench.plugin"},
    "grading": {"pytest", "_pytest", "xdist", "pytest_sleepbench._plugin",
                "pytest_sleepbench.plugin"},
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
