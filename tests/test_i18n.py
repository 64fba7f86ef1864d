"""Feedback in the student's language: the catalogs match the source, every message has its
Portuguese, a translation keeps its placeholders, and the language is the process's choice.

The messages are read from the source as ``pybabel extract`` reads them (``babel.cfg``), so a
message added without its translation, or a catalog left behind by the source, fails here.
"""

from __future__ import annotations

import ast
import gettext
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from pytest_sleepbench.core import i18n
from pytest_sleepbench.grading.assignment import load
from pytest_sleepbench.grading.grade import not_graded
from pytest_sleepbench.report import gradebook as reports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pytest_sleepbench"
TEMPLATE = PACKAGE / "locale" / "sleepbench.pot"
#: Every language with a catalog; a new one is held to the same tests.
LANGUAGES = tuple(sorted(p.parents[1].name for p in (PACKAGE / "locale").glob(
    "*/LC_MESSAGES/sleepbench.po")))
Key = str | tuple[str, ...]


def _po(lang: str) -> Path:
    return PACKAGE / "locale" / lang / "LC_MESSAGES" / "sleepbench.po"


def _read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source)


def _key(message_id: object) -> Key:
    return tuple(message_id) if isinstance(message_id, list | tuple) else str(message_id)


def _in_source() -> set[Key]:
    """Every message the source marks, read as ``tools/catalogs.sh`` has pybabel read it:
    with ``babel.cfg``, underscore folders (``_plugin``) included."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]

    def wanted(folder: str) -> bool:
        name = Path(folder).name
        return not name.startswith(".") and name != "__pycache__"

    return {_key(found[2]) for found in extract_from_dir(
        str(PACKAGE), method_map, options_map, directory_filter=wanted)}


def _entries(catalog: Catalog) -> Iterator[tuple[Key, object, bool]]:
    for message in catalog:
        if message.id:
            yield _key(message.id), message.string, message.fuzzy


def test_the_source_marks_the_messages_students_read() -> None:
    assert "pt_BR" in LANGUAGES
    found = _in_source()
    assert "tasks did not overlap as the schedule predicts" in found
    assert "sleepbench gradebook" in found
    assert ("{score:g} of {points:g} point(s)", "{score:g} of {points:g} point(s)") in found


def test_the_template_holds_exactly_the_messages_of_the_source() -> None:
    template = {key for key, _, _ in _entries(_read(TEMPLATE))}
    source = _in_source()
    assert (sorted(map(str, source - template)), sorted(map(str, template - source))) == (
        [], []), "the template is stale: run tools/catalogs.sh"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_has_its_translation(lang: str) -> None:
    catalog = _read(_po(lang))
    entries = list(_entries(catalog))
    untranslated = [key for key, text, fuzzy in entries if fuzzy or not (
        all(text) if isinstance(text, tuple) else text)]
    assert untranslated == [], f"translate these in {_po(lang)} (and drop their fuzzy flag)"
    stale = {key for key, _, _ in entries} ^ _in_source()
    assert sorted(map(str, stale)) == [], "the catalog is stale: run tools/catalogs.sh"


def _fields(text: str) -> set[tuple[str, str | None, str]]:
    return {(name, conversion, spec or "")
            for _, name, spec, conversion in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_translation_keeps_the_placeholders_of_its_message(lang: str) -> None:
    # str.format fills them after translation: one renamed, dropped or given another format
    # would raise, or lose what the student is told.
    wrong = []
    for key, text, _ in _entries(_read(_po(lang))):
        english = key if isinstance(key, tuple) else (key,)
        translated = text if isinstance(text, tuple) else (text,)
        want = _fields(english[-1])
        assert all(_fields(e) == want for e in english), key
        wrong += [(key, t) for t in translated if isinstance(t, str) and _fields(t) != want]
    assert wrong == []


def test_no_message_hides_from_the_extractor_inside_an_f_string() -> None:
    # pybabel does not look into f-strings (before Python 3.12): a message marked there would
    # silently stay English. A constant's name (N_-marked where it is made) may be there.
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.JoinedStr):
                continue
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in {"_", "ngettext", "N_"}
                        and any(isinstance(a, ast.Constant) for a in call.args)):
                    hidden.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert hidden == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_is_the_committed_one(lang: str) -> None:
    mo = _po(lang).with_suffix(".mo")
    assert mo.is_file(), (f"{mo} is missing: install the checkout (pip install -e .) or run "
                          "tools/catalogs.sh")
    with mo.open("rb") as compiled:
        read = gettext.GNUTranslations(compiled)
    for key, text, _ in _entries(_read(_po(lang))):
        if isinstance(key, tuple):
            assert isinstance(text, tuple)
            assert [read.ngettext(key[0], key[1], n) for n in (1, 2)] == list(text), key
        else:
            assert read.gettext(key) == text, f"{mo} is stale: run tools/catalogs.sh"


@pytest.fixture
def portuguese() -> Iterator[None]:
    before = i18n.use("pt_BR")
    yield
    i18n.use(before)


def test_english_is_the_source_itself() -> None:
    assert i18n.language() == "en"
    assert i18n._("the script failed") == "the script failed"
    assert reports.points_text(7.5, 10) == "7.5 of 10 point(s)"


def test_portuguese_is_told_once_chosen_with_its_own_plurals(portuguese: None) -> None:
    assert i18n.language() == "pt_BR"
    assert i18n._("the script failed") == "o script falhou"
    assert reports.points_text(7.5, 10) == "7.5 de 10 pontos"
    assert reports.points_text(1, 1) == "1 de 1 ponto"


def test_choosing_a_language_returns_the_one_to_restore() -> None:
    before = i18n.use("pt_BR")
    assert (before, i18n.use(before), i18n.language()) == ("en", "pt_BR", "en")


def test_an_unknown_language_names_those_available() -> None:
    assert i18n.available() == ("en", *LANGUAGES)
    assert i18n.language_problem("pt_BR") is None
    assert i18n.language_problem("xx") == (
        f"unknown language 'xx'; available: {', '.join(i18n.available())}")


def test_a_report_written_in_another_language_still_shows_what_was_stopped(
        portuguese: None, tmp_path: Path) -> None:
    # The gradebook tells a stopped exercise by its message: one an earlier Portuguese run
    # wrote must still read as stopped to an English one merging with it.
    exercise = load(None).exercises[0]
    why = f"{i18n._('the session was interrupted')} {i18n._(reports.STOPPED)}"
    entry = not_graded(tmp_path, exercise, why)
    assert str(entry["checks"][0]["message"]).startswith(  # type: ignore[index]
        "runs: não corrigido: a sessão foi interrompida")
    i18n.use("en")
    assert reports.stopped(entry)
