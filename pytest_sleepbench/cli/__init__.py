"""``python -m pytest_sleepbench``: the commands that put grading on platforms.

- ``autograder gradescope``: the zip Gradescope takes as an autograder;
- ``autograder run-gradescope``: what that zip's ``run_autograder`` runs on Gradescope;
- ``merge``: one gradebook from the JSON reports of shards graded on several machines;
- ``classroom``: a JSON report as points for GitHub Classroom's grading reporter.

Grading itself always runs as ``python -m pytest`` in a subprocess, so that this package
needs no pytest of its own, and a script graded never runs in the process that reports it.

Exit status: 0 done, 1 refused (bad input, a report that cannot be written, nothing graded),
2 a usage error (argparse's).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.i18n import DEFAULT_LANGUAGE, language_argument, use
from .errors import CliError

if TYPE_CHECKING:
    from typing import TypeAlias

    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_sleepbench",
        description="Put sleepbench grading on platforms: Gradescope, GitHub Classroom, "
                    "shards on several machines. Grading itself is "
                    "`pytest -p sleepbench --sleepbench-grade=DIR` (see docs/GRADING.md).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_autograder(commands)
    _add_merge(commands)
    _add_classroom(commands)
    return parser


def _add_autograder(commands: Commands) -> None:
    autograder = commands.add_parser("autograder", help="build or run a platform's autograder")
    platforms = autograder.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
    build = platforms.add_parser(
        "gradescope", help="write the autograder zip Gradescope takes",
        description="Write the zip to upload as a Gradescope autograder: this package as a "
                    "wheel built from the checkout, setup.sh, run_autograder and the "
                    "assignment file.")
    build.add_argument("--assignment", type=Path, metavar="FILE",
                       help="assignment TOML (default: the lesson's six exercises)")
    build.add_argument("-o", "--output", type=Path, required=True, metavar="ZIP",
                       help="where to write the zip, e.g. autograder.zip")
    build.add_argument("--wheel", type=Path, metavar="WHEEL",
                       help="ship this pytest_sleepbench wheel instead of building one from "
                            "the checkout (for a machine with no package index)")
    run = platforms.add_parser(
        "run-gradescope", help="grade /autograder/submission (run by run_autograder)",
        description="Grade the submission of a Gradescope autograder and write "
                    "results/results.json, valid whatever the submission does.")
    run.add_argument("--root", type=Path, default=Path("/autograder"), metavar="DIR",
                     help="the autograder's folder, holding source/, submission/ and "
                          "results/ (default /autograder)")


def _add_merge(commands: Commands) -> None:
    merge = commands.add_parser(
        "merge", help="join the JSON reports of shards into one gradebook",
        description="Join the JSON reports of the shards of one class (graded with "
                    "--sleepbench-shard=K/N) into one gradebook. Reports of another "
                    "assignment or another version of the grader are refused.")
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT",
                       help="the shards' --sleepbench-json files")
    merge.add_argument("--json", type=Path, required=True, metavar="PATH",
                       help="write the merged JSON report (schema 1) here")
    merge.add_argument("--csv", type=Path, metavar="PATH", help="also write the CSV")
    merge.add_argument("--html", type=Path, metavar="PATH", help="also write the HTML report")
    merge.add_argument("--gradescope", type=Path, metavar="PATH",
                       help="also write Gradescope results (a folder of <submission>.json)")
    _add_lang(merge)


def _add_classroom(commands: Commands) -> None:
    classroom = commands.add_parser(
        "classroom", help="print a JSON report's points for GitHub Classroom",
        description="Print `result=<base64>`, the input GitHub Classroom's "
                    "autograding-grading-reporter reads, from a --sleepbench-json report; "
                    "append it to $GITHUB_OUTPUT.")
    classroom.add_argument("report", type=Path, metavar="REPORT",
                           help="the --sleepbench-json file")
    _add_lang(classroom)


def _add_lang(command: argparse.ArgumentParser) -> None:
    command.add_argument("--lang", type=language_argument, default=DEFAULT_LANGUAGE,
                         metavar="LANG",
                         help="language of the words this command adds to the report's own "
                              f"(e.g. pt_BR; default {DEFAULT_LANGUAGE}); the checks' "
                              "messages stay in the language they were graded in")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if hasattr(args, "lang"):
        use(args.lang)
    try:
        if args.command == "merge":
            from .merge import run_merge

            return run_merge(args.reports, json_path=args.json, csv_path=args.csv,
                             html_path=args.html, gradescope_path=args.gradescope)
        if args.command == "classroom":
            from .classroom import print_points

            return print_points(args.report)
        if args.platform == "gradescope":
            from .gradescope import build_autograder

            return build_autograder(args.output, assignment=args.assignment, wheel=args.wheel)
        from .gradescope_run import run_gradescope

        return run_gradescope(args.root)
    except CliError as error:
        print(f"sleepbench: error: {error}", file=sys.stderr)
        return 1
