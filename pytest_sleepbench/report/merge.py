"""Joining the JSON reports of shards into one gradebook.

Reports are joined only when they are the same grading: the same assignment (wherever its file
lay on each machine) and the same version of the grader; a submission graded twice, or a shard
given twice, is refused rather than silently chosen. Every refusal names the files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..grading.shard import parse_shard
from .gradebook import ENTRY_KEYS

__all__ = ["MergeError", "merge", "read_report"]

Doc = dict[str, object]


class MergeError(Exception):
    """Reports that cannot be merged; ``str()`` says which file and why."""


def read_report(path: Path) -> Doc:
    """A JSON report (schema 1) as written by ``--sleepbench-json``, checked whole enough to
    merge: a corrupt or foreign file is refused with its name, never half read."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MergeError(f"{path}: cannot read it ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MergeError(f"{path}: not a JSON report ({error}); pass the files written by "
                         "--sleepbench-json") from None
    if not isinstance(doc, dict) or doc.get("schema") != 1:
        raise MergeError(f"{path}: not a sleepbench JSON report of schema 1; pass the files "
                         "written by --sleepbench-json")
    subs = doc.get("submissions")
    if not isinstance(doc.get("assignment"), dict) or not isinstance(subs, list) or not all(
            map(_whole, subs)):
        raise MergeError(f"{path}: its assignment or submissions are malformed; grade that "
                         "shard again")
    shard = doc.get("shard")
    try:
        if shard is not None:
            parse_shard(str(shard))
    except ValueError:
        raise MergeError(f"{path}: its shard {shard!r} is malformed; grade that shard "
                         "again") from None
    return doc


def _whole(sub: object) -> bool:
    """Whether a submission holds all every report is written from."""
    if not isinstance(sub, dict) or not isinstance(sub.get("name"), str) or not all(
            isinstance(sub.get(k), int | float) for k in ("score", "max_score")):
        return False
    exercises = sub.get("exercises")
    return isinstance(exercises, list) and all(
        isinstance(e, dict) and e.keys() >= ENTRY_KEYS for e in exercises)


def _differences(ours: object, theirs: object) -> list[str]:
    """The assignment's keys whose values differ, the file's path left out: the same exercises,
    unit and limits are the same grading, wherever each machine kept the file."""
    a = ours if isinstance(ours, dict) else {}
    b = theirs if isinstance(theirs, dict) else {}
    keys = sorted((set(a) | set(b)) - {"path"})
    return [k for k in keys if json.dumps(a.get(k)) != json.dumps(b.get(k))]


def _same_grading(first: tuple[Path, Doc], other: tuple[Path, Doc]) -> None:
    (path_a, a), (path_b, b) = first, other
    version_a, version_b = a.get("version", "unknown"), b.get("version", "unknown")
    if version_a != version_b:
        raise MergeError(
            f"{path_b} was written by pytest-sleepbench {version_b}, {path_a} by {version_a}; "
            "grade every shard with the same version of the grader, or the verdicts may differ")
    differ = _differences(a.get("assignment"), b.get("assignment"))
    if differ:
        shown = ", ".join(
            f"{k} ({_value(a, k)} in {path_a.name}, {_value(b, k)} in {path_b.name})"
            if k != "exercises" else "exercises" for k in differ)
        raise MergeError(f"{path_b} was graded with another assignment than {path_a}: {shown} "
                         "differ; grade every shard with the same assignment file")


def _value(doc: Doc, key: str) -> str:
    assignment = doc.get("assignment")
    return json.dumps(assignment.get(key) if isinstance(assignment, dict) else None)


class _Shards:
    """The shards the reports say they graded (``"K/N"``, absent in an unsharded run)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, int], Path] = {}

    def add(self, path: Path, shard: object) -> None:
        if shard is None:
            return
        key = parse_shard(str(shard))  # checked when the report was read
        other = next((p for (_, m), p in self.seen.items() if m != key[1]), None)
        if other is not None:
            raise MergeError(f"{path} is shard {shard} and {other} a shard of another N; shards "
                             "of different N do not divide the class alike, so grade every "
                             "shard with the same N")
        if key in self.seen:
            raise MergeError(f"{path} and {self.seen[key]} are both shard {shard}; pass each "
                             "shard's report once")
        self.seen[key] = path

    def missing(self) -> list[str]:
        if not self.seen:
            return []
        n = next(iter(self.seen))[1]
        absent = [f"{k}/{n}" for k in range(1, n + 1) if (k, n) not in self.seen]
        return [f"shard {s} is not among the reports, so its submissions are not in the "
                "gradebook" for s in absent]


def merge(reports: Sequence[tuple[Path, Doc]]) -> tuple[Doc, list[str]]:
    """One schema-1 document of every submission of the ``reports`` (path, document), and
    warnings (a shard missing from the set) that do not stop the merge."""
    if not reports:
        raise MergeError("no report to merge")
    for other in reports[1:]:
        _same_grading(reports[0], other)
    shards = _Shards()
    seen: dict[str, Path] = {}
    submissions: list[dict[str, object]] = []
    for path, doc in reports:
        shards.add(path, doc.get("shard"))
        for sub in doc["submissions"]:  # type: ignore[attr-defined]
            name = str(sub["name"])
            if name in seen:
                raise MergeError(
                    f"submission {name!r} is in both {seen[name]} and {path}; merge the reports "
                    "of distinct shards (each --sleepbench-shard=K/N once, with the same N)")
            seen[name] = path
            submissions.append(sub)
    first = reports[0][1]
    merged: Doc = {"schema": 1}
    if "version" in first:
        merged["version"] = first["version"]
    merged["assignment"] = first["assignment"]
    sandboxes = sorted({str(d["sandbox"]) for _, d in reports if d.get("sandbox")})
    if sandboxes:
        # Machines of one class may isolate differently; the gradebook says so.
        merged["sandbox"] = "; ".join(sandboxes)
    merged["submissions"] = sorted(submissions, key=lambda s: str(s["name"]))
    return merged, shards.missing()
