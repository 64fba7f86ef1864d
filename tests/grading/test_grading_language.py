"""Feedback in the student's language, through real grading sessions: what students read is in
the language chosen (command line over the assignment's ``lang`` over the ini file, English by
default), in every xdist worker; what programs read (check names, keys, statuses) is not."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from grading_support import EXAMPLES, FAST, course, order_shown

from pytest_sleepbench.grading.checks import CHECKS

ENTRY_KEYS = {"id", "pattern", "file", "status", "score", "max_score", "wall", "workers",
              "checks", "intervals"}


def _grade(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-assignment=course.toml",
        "--sleepbench-json=out/grades.json", "-p", "no:cacheprovider", *args)


def _report(pytester: pytest.Pytester) -> dict[str, object]:
    doc = json.loads((pytester.path / "out" / "grades.json").read_text())
    assert isinstance(doc, dict)
    return doc


def test_a_portuguese_session_tells_students_in_portuguese_in_every_report(
        pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES / "wrong_order", pytester.path / "subs" / "wrong_order")
    (pytester.path / "course.toml").write_text(FAST.format(extra=""))
    result = _grade(pytester, "--sleepbench-lang=pt_BR", "-n", "2",
                    "--sleepbench-html=out/grades.html", "--sleepbench-gradescope=out/gs.json",
                    "--junitxml=out/junit.xml")
    doc = _report(pytester)
    entries = doc["submissions"][0]["exercises"]  # type: ignore[index]
    statuses = {e["id"]: e["status"] for e in entries}
    # ex3_2 reads its results in submission order, a mistake only a run whose tasks ended
    # out of that order shows. Its order is asserted where the run shows it; the rest of
    # what students read always is.
    shown = statuses["ex3_2"] == "fail"
    assert shown or not order_shown(entries[4]), entries[4]
    assert statuses == {
        "ex1": "missing", "ex2": "missing", "ex2_1": "missing", "ex3_1": "missing",
        "ex3_2": "fail" if shown else "pass", "ex3_3": "fail"}
    result.assert_outcomes(failed=5 + shown, passed=1 - shown)
    # Graded in the xdist workers, told by the controller: both in Portuguese.
    result.stdout.fnmatch_lines([
        "*_ wrong_order: ex3_3 (map) _*",
        "wrong_order ex3_3 (map): * de 10 pontos",
        "api: o script não usa a construção que o exercício pede",
        "*esperado: ProcessPoolExecutor.map",
        "worker 1 *|*",
        "*^ = tempo total previsto *s",
        "*boletim do sleepbench*",
        "entrega * ex1 * ex2 * ex2_1 * ex3_1 * ex3_2 * ex3_3 * total",
        "wrong_order *ausente *ausente *ausente *ausente * * */60",
    ])
    if shown:
        # The order the tasks finished in is the machine's, the one delivered the script's.
        result.stdout.fnmatch_lines([
            "*_ wrong_order: ex3_2 (as_completed) _*",
            "wrong_order ex3_2 (as_completed): * de 10 pontos",
            "order: os resultados não foram recebidos na ordem em que terminaram",
            "*esperado: a ordem em que as tarefas terminaram: *",
            "*observado: 5, 4, 3, 2, 1*",
        ])
    assert "sleepbench gradebook" not in result.stdout.str()

    for entry in entries:
        assert set(entry) == ENTRY_KEYS
    as_completed, mapped = entries[4], entries[5]
    assert [c["name"] for c in as_completed["checks"]] == list(CHECKS)
    assert {c["status"] for c in as_completed["checks"]} <= {"pass", "fail", "skip"}
    order = next(c for c in as_completed["checks"] if c["name"] == "order")
    if shown:
        assert order["message"].startswith(
            "order: os resultados não foram recebidos na ordem em que terminaram\n  esperado: ")
    api = next(c for c in mapped["checks"] if c["name"] == "api")
    assert api["message"].startswith(
        "api: o script não usa a construção que o exercício pede\n  esperado: ")
    assert entries[0]["checks"][0]["message"] == (
        "runs: nenhum arquivo correspondente a 'ex1_serial*.py' na entrega "
        "(os arquivos .py dela: ex3_2_as_completed.py, ex3_3_map.py)")

    page = (pytester.path / "out" / "grades.html").read_text()
    assert '<html lang="pt-BR">' in page
    assert "<h2>Boletim</h2>" in page and "voltar à tabela" in page
    assert '<span class="badge fail">fail</span>' in page

    gradescope = json.loads((pytester.path / "out" / "gs.json").read_text())
    assert gradescope["output"] == (
        f"{1 - shown} de 6 exercícios passaram em todas as verificações.")
    assert [t["status"] for t in gradescope["tests"]] == (
        ["failed"] * 4 + ["failed" if shown else "passed", "failed"])
    assert "api: fail\napi: o script não usa a construção" in gradescope["tests"][5]["output"]

    junit = ET.parse(pytester.path / "out" / "junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if c.get("name") == "ex3_3")
    failure = case.find("failure")
    assert failure is not None
    told = (failure.text or "").splitlines()
    assert told[0].startswith("wrong_order ex3_3 (map): ")
    assert told[0].endswith(" de 10 pontos")
    assert "api: o script não usa a construção que o exercício pede" in told


def _missing(pytester: pytest.Pytester, lang: str | None) -> None:
    """A submission with no exercise file: every exercise is graded without running one."""
    (pytester.path / "subs" / "alice").mkdir(parents=True)
    (pytester.path / "subs" / "alice" / "notes.py").write_text("")
    extra = "" if lang is None else f'lang = "{lang}"'
    (pytester.path / "course.toml").write_text(course("ex1", extra=extra))


ENGLISH = "runs: no file matching 'ex1_serial*.py' in the submission (its .py files: notes.py)"
PORTUGUESE = ("runs: nenhum arquivo correspondente a 'ex1_serial*.py' na entrega "
              "(os arquivos .py dela: notes.py)")


@pytest.mark.parametrize(
    ("ini", "assignment", "option", "told"),
    [
        (None, None, None, ENGLISH),
        ("pt_BR", None, None, PORTUGUESE),
        ("en", "pt_BR", None, PORTUGUESE),
        ("pt_BR", "en", None, ENGLISH),
        (None, "pt_BR", "en", ENGLISH),
        ("en", "en", "pt_BR", PORTUGUESE),
    ],
    ids=["english-by-default", "ini", "assignment-over-ini", "assignment-english-over-ini",
         "command-line-over-assignment", "command-line-over-both"],
)
def test_the_language_is_the_command_lines_then_the_assignments_then_the_ini_files(
        pytester: pytest.Pytester, ini: str | None, assignment: str | None,
        option: str | None, told: str) -> None:
    _missing(pytester, assignment)
    if ini is not None:
        pytester.makeini(f"[pytest]\nsleepbench_lang = {ini}\n")
    result = _grade(pytester, *([] if option is None else [f"--sleepbench-lang={option}"]))
    result.assert_outcomes(failed=1)
    entry = _report(pytester)["submissions"][0]["exercises"][0]  # type: ignore[index]
    assert (entry["status"], entry["checks"]) == (
        "missing", [{"name": "runs", "status": "fail", "message": told}])
    english = told == ENGLISH
    result.stdout.fnmatch_lines([
        "*sleepbench gradebook*" if english else "*boletim do sleepbench*",
        "submission * ex1 * total" if english else "entrega * ex1 * total",
        "alice * missing * 0/10" if english else "alice * ausente * 0/10",
    ])


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("option", "*--sleepbench-lang: unknown language 'fr'; available: en, *pt_BR*"),
        ("ini", "*ini option sleepbench_lang: unknown language 'fr'; available: en, *pt_BR*"),
        ("assignment", "*course.toml:2: unknown lang 'fr'; available: en, *pt_BR*; it is the "
                       "language of the students' feedback, e.g. `lang = \"pt_BR\"`*"),
    ],
)
def test_an_unknown_language_is_a_usage_error_naming_those_available(
        pytester: pytest.Pytester, where: str, said: str) -> None:
    _missing(pytester, "fr" if where == "assignment" else None)
    if where == "ini":
        pytester.makeini("[pytest]\nsleepbench_lang = fr\n")
    result = _grade(pytester, *(["--sleepbench-lang=fr"] if where == "option" else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([said])


def test_the_classroom_points_say_their_own_words_in_the_language_asked(
        pytester: pytest.Pytester) -> None:
    _missing(pytester, "pt_BR")
    _grade(pytester).assert_outcomes(failed=1)
    done = subprocess.run(
        [sys.executable, "-m", "pytest_sleepbench", "classroom", "out/grades.json",
         "--lang=pt_BR"], cwd=pytester.path, capture_output=True, text=True, check=True)
    points = json.loads(base64.b64decode(done.stdout.strip().removeprefix("result=")))
    test = points["tests"][0]
    assert (test["status"], test["test_code"]) == ("fail", "o sleepbench corrige um arquivo "
                                                   "ausente")
    assert test["message"] == f"0 de 10 pontos\n\n{PORTUGUESE}"
