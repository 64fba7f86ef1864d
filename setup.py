"""The one build step pyproject.toml cannot declare: compiling the translation catalogs.

Every ``pytest_sleepbench/locale/<lang>/LC_MESSAGES/*.po`` becomes the ``.mo`` gettext reads,
with Babel (a build requirement). A wheel gets it in its build folder; an editable install
(``pip install -e .``, which runs this step in editable mode) gets it beside the ``.po`` in
the checkout, where the installed package reads it. Compiled files are not committed.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
LOCALE = Path("pytest_sleepbench", "locale")


def compile_catalogs(into: Path) -> list[Path]:
    """Compile each language's ``.po`` to its ``.mo`` under ``into`` (same relative path)."""
    written = []
    for po in sorted((ROOT / LOCALE).glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as source:
            catalog = read_po(source)
        mo = into / po.relative_to(ROOT).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as target:
            # Fuzzy entries are guesses pybabel made, never shown as translations.
            write_mo(target, catalog, use_fuzzy=False)
        written.append(mo)
    return written


class BuildWithCatalogs(build_py):
    """``build_py`` that also compiles the catalogs, after the package's files are copied
    (so a stale ``.mo`` in the checkout can never replace a fresh one)."""

    def run(self) -> None:
        super().run()
        into = ROOT if self.editable_mode else Path(self.build_lib)
        for mo in compile_catalogs(into):
            self.announce(f"compiled {mo}", level=2)


setup(cmdclass={"build_py": BuildWithCatalogs})
