"""The HTML report: one self-contained page of timelines, checks and, when grading, a gradebook.

Everything is inline (CSS and SVG, no script), so the file can be mailed, archived or uploaded
to a learning platform and still look the same. Anchors are built from positions, never from
names, and every piece of text is escaped, because names and messages come from student code.
A fifth of the module is the page's inline stylesheet, which a separate file would defeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from ..core.i18n import _, language, ngettext
from .records import Record, number, records, with_model
from .svg import timeline_svg

__all__ = ["build_page"]

CSS = """
:root { --pass: #1a7f37; --fail: #c62828; --missing: #8a6d00; --muted: #57606a;
  --line: #d0d7de; --stripe: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
  margin: 0 auto; padding: 16px 24px 48px; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 4px; word-break: break-all; }
p.meta, .facts { color: var(--muted); margin: 2px 0 8px; }
a { color: #0550ae; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: right; }
th { background: var(--stripe); position: sticky; top: 0; }
td.name, th.name { text-align: left; max-width: 22em; overflow-wrap: anywhere; }
tbody tr:nth-child(even) td { background: var(--stripe); }
tfoot td, tfoot th { border-top: 2px solid #8c959f; font-weight: 600; position: static; }
td.pass a, .badge.pass { color: var(--pass); }
td.fail a, .badge.fail { color: var(--fail); font-weight: 600; }
td.missing a, .badge.missing, .badge.skip, .badge.inconclusive, td.inconclusive a {
  color: var(--missing); }
td.ungraded a { color: var(--fail); font-style: italic; }
td.total { font-weight: 600; }
th .pattern { font-weight: 400; font-size: 11px; color: var(--muted); }
.badge { font-weight: 600; text-transform: uppercase; font-size: 12px; }
article.run { border: 1px solid var(--line); border-left: 6px solid var(--pass);
  border-radius: 4px; padding: 8px 12px; margin: 12px 0; }
article.run.fail { border-left-color: var(--fail); }
article.run.missing { border-left-color: var(--missing); }
.up { float: right; font-size: 12px; }
svg.timeline { display: block; max-width: 100%; height: auto; margin: 6px 0;
  font: 11px system-ui, sans-serif; }
svg .stripe { fill: var(--stripe); }
svg .lane { fill: #1f2328; }
svg .pid { fill: var(--muted); font-size: 10px; }
svg .interval { stroke: #1f2328; stroke-width: 0.5; }
svg text.bar { fill: #fff; font-weight: 600; pointer-events: none; }
svg .frame, svg .tick { stroke: #8c959f; stroke-width: 0.6; }
svg text.tick { fill: var(--muted); text-anchor: middle; stroke: none; }
svg .expected { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg text.expected { fill: var(--fail); stroke: none; font-size: 10px; }
svg .wall { stroke: #1f2328; stroke-width: 1; }
svg .bounds { fill: #8c959f; opacity: 0.45; }
p.legend { font-size: 12px; color: var(--muted); margin: 0; }
ul.checks { list-style: none; padding: 0; margin: 6px 0 0; }
li.check { padding: 3px 8px; border-left: 3px solid var(--pass); margin: 3px 0; }
li.check.fail { border-left-color: var(--fail); background: #fdecea; }
li.check.skip, li.check.inconclusive { border-left-color: var(--missing); }
li.check pre { margin: 4px 0 2px; font: 12px/1.3 ui-monospace, Menlo, Consolas, monospace;
  white-space: pre-wrap; overflow-x: auto; }
p.empty { color: var(--muted); font-style: italic; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  th { position: static; }
  thead { display: table-header-group; }
  tr, article.run, li.check { break-inside: avoid; }
  section.submission { break-before: page; }
  .up { display: none; }
  a { color: inherit; text-decoration: none; }
  li.check pre { white-space: pre-wrap; overflow: visible; }
}
"""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _ui(words: str) -> str:
    """The page's own words, in the reader's language, as HTML text."""
    return escape(words, quote=False)


def _score(value: object) -> str:
    n = number(value)
    return "-" if n is None else f"{n:g}"


def _seconds(value: object) -> str:
    n = number(value)
    return "-" if n is None else f"{n:.3f} s"


def _status(value: object, allowed: Sequence[str], default: str) -> str:
    """A status as a CSS class: only known words reach the markup."""
    text = str(value).lower()
    return text if text in allowed else default


def _checks(record: Record) -> str:
    checks = records(record.get("checks"))
    if not checks:
        return '<p class="empty">' + _ui(_("No checks were recorded.")) + "</p>"
    items = []
    for check in checks:
        status = _status(check.get("status"), ("pass", "fail", "skip", "inconclusive"), "fail")
        message = str(check.get("message") or "")
        body = f"<pre>{_text(message)}</pre>" if message else ""
        items.append(
            f'<li class="check {status}"><span class="badge {status}">{status}</span> '
            f"<b>{_text(check.get('name', '?'))}</b>{body}</li>"
        )
    return f'<ul class="checks">{"".join(items)}</ul>'


def _legend() -> str:
    return '<p class="legend">' + _ui(_(
        "Bars: recorded intervals (hover for task, requested seconds, start and end). Dashed "
        "red line: the model's expected makespan. Solid line: measured wall time. Grey band "
        "under the axis: the allowed wall time.")) + "</p>"


def _facts(record: Record) -> str:
    parts = []
    durations = record.get("durations")
    if isinstance(durations, Sequence) and not isinstance(durations, str):
        parts.append(_ui(_("durations {durations}")).format(
            durations=_text(", ".join(f"{_score(d)}" for d in durations))))
    for key, label in (("unit", _("unit {value}")), ("start_method", _("start method {value}")),
                       ("workers", _("workers {value}"))):
        if record.get(key) is not None:
            parts.append(_ui(label).format(value=_text(record[key])))
    earlier = record.get("earlier_walls")
    again = ""
    if isinstance(earlier, Sequence) and not isinstance(earlier, str) and earlier:
        # The noise policy's repeat: both measurements are shown, never only the second.
        again = _ui(_(" (measured again; first attempt {walls})")).format(
            walls=", ".join(_seconds(w) for w in earlier))
    units = record.get("earlier_units")
    if isinstance(units, Sequence) and not isinstance(units, str) and units:
        # A unit too small for the machine to show a claim was scaled up; say from what.
        again += _ui(_(" (unit scaled up from {units})")).format(
            units=", ".join(_seconds(u) for u in units))
    parts.append(_ui(_("wall {wall}")).format(wall=_seconds(record.get("wall"))) + again)
    if record.get("expected_wall") is not None:
        parts.append(_ui(_("model {wall}")).format(wall=_seconds(record.get("expected_wall"))))
    if record.get("lower") is not None and record.get("upper") is not None:
        parts.append(_ui(_("bounds {lower} .. {upper}")).format(
            lower=_seconds(record["lower"]), upper=_seconds(record["upper"])))
    return f'<p class="facts">{" · ".join(parts)}</p>'


def _run(record: Record, anchor: str, heading: str, status: str, up: str) -> str:
    # A file that was never handed in has nothing to draw; its checks say why.
    drawn = "" if status == "missing" else _facts(record) + timeline_svg(record)
    back = _ui(_("back to the table"))
    return (
        f'<article class="run {status}" id="{anchor}">'
        f'<a class="up" href="#{up}">{back}</a>'
        f'<h3>{heading} <span class="badge {status}">{_text(status)}</span></h3>'
        f"{drawn}{_checks(record)}</article>"
    )


def _runs_section(runs: Sequence[Record]) -> str:
    rows = []
    articles = []
    for n, run in enumerate(runs):
        status = {"passed": "pass", "inconclusive": "inconclusive"}.get(
            str(run.get("outcome")), "fail")
        title = run.get("title") or run.get("nodeid") or _("run {n}").format(n=n + 1)
        rows.append(
            f'<tr><td class="name"><a href="#run-{n}">{_text(title)}</a></td>'
            f"<td>{_text(run.get('pattern', ''))}</td><td>{_text(run.get('workers', ''))}</td>"
            f"<td>{_seconds(run.get('expected_wall'))}</td><td>{_seconds(run.get('wall'))}</td>"
            f'<td class="{status}"><a href="#run-{n}">{status}</a></td></tr>'
        )
        articles.append(_run(run, f"run-{n}", _text(title), status, "runs"))
    head = "".join(f"<th>{_ui(h)}</th>" for h in (
        _("pattern"), _("workers"), _("model"), _("measured"), _("verdict")))
    test, heading = _ui(_("test")), _ui(_("Test runs"))
    table = (
        f'<table class="runs"><thead><tr><th class="name">{test}</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return (f'<section id="runs"><h2>{heading}</h2>{table}{_legend()}'
            f'{"".join(articles)}</section>')


def _exercise_ids(submissions: Sequence[Record], assignment: Record) -> dict[str, str]:
    """Exercise ids in the assignment's order, each with its pattern."""
    ids: dict[str, str] = {}
    for exercise in records(assignment.get("exercises")):
        if exercise.get("id") is not None:
            ids.setdefault(str(exercise["id"]), str(exercise.get("pattern") or ""))
    for submission in submissions:
        for exercise in records(submission.get("exercises")):
            ids.setdefault(str(exercise.get("id", "?")), str(exercise.get("pattern") or ""))
    return ids


def _gradebook(document: Record) -> str:
    assignment = document.get("assignment")
    assignment = assignment if isinstance(assignment, Mapping) else {}
    submissions = records(document.get("submissions"))
    columns = _exercise_ids(submissions, assignment)
    head = "".join(
        f'<th>{_text(c)}<br><span class="pattern">{_text(p)}</span></th>'
        for c, p in columns.items()
    )
    rows = []
    details = []
    scores: dict[str, list[float]] = {c: [] for c in columns}
    passed = dict.fromkeys(columns, 0)
    for s, submission in enumerate(submissions):
        name = _text(submission.get("name", _("submission {n}").format(n=s + 1)))
        by_id = {str(e.get("id", "?")): (k, e)
                 for k, e in enumerate(records(submission.get("exercises")))}
        cells = []
        articles = []
        for column in columns:
            if column not in by_id:
                cells.append('<td class="missing">-</td>')
                continue
            k, exercise = by_id[column]
            exercise = with_model(exercise, assignment)
            status = _status(exercise.get("status"), ("pass", "fail", "missing"), "fail")
            scores[column].append(number(exercise.get("score")) or 0.0)
            passed[column] += status == "pass"
            anchor = f"s{s}-e{k}"
            shown = f"{_score(exercise.get('score'))}/{_score(exercise.get('max_score'))}"
            kind = status
            if status == "fail" and exercise.get("wall") is None:
                # Every graded run has a wall; an entry without one was never graded (its
                # grader died or the session stopped), which a plain 0 would hide.
                shown, kind = _ui(_("not graded")), "ungraded"
            cells.append(f'<td class="{kind}"><a href="#{anchor}">{shown}</a></td>')
            about = ", ".join(_text(exercise[key]) for key in ("pattern", "file")
                              if exercise.get(key))
            heading = (
                f"{name}: {_text(column)}{f' ({about})' if about else ''} "
                f"{_score(exercise.get('score'))}/{_score(exercise.get('max_score'))}"
            )
            articles.append(_run(exercise, anchor, heading, status, f"row-{s}"))
        total = f"{_score(submission.get('score'))}/{_score(submission.get('max_score'))}"
        rows.append(
            f'<tr id="row-{s}"><td class="name"><a href="#s{s}">{name}</a></td>'
            f'{"".join(cells)}<td class="total">{total}</td></tr>'
        )
        details.append(
            f'<section class="submission" id="s{s}"><h2>{name}: {total}</h2>'
            f'{"".join(articles)}</section>'
        )
    title = assignment.get("title") or assignment.get("name")
    caption = f"<caption>{_text(title)}</caption>" if title else ""
    submission_heading, total_heading = _ui(_("submission")), _ui(_("total"))
    table = (
        f'<table class="gradebook">{caption}<thead><tr><th class="name">'
        f"{submission_heading}</th>{head}<th>{total_heading}</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody>{_summary(columns, scores, passed, submissions)}"
        "</table>"
    )
    # sandbox-v2: the isolation the scripts ran under, as the grader reported it.
    sandbox = '<p class="sandbox">' + _ui(_("Sandbox: {sandbox}")).format(
        sandbox=_text(document["sandbox"])) + "</p>" if document.get("sandbox") else ""
    gradebook_heading = _ui(_("Gradebook"))
    return (
        f'<section id="gradebook"><h2>{gradebook_heading}</h2>{sandbox}{table}{_legend()}'
        f"</section>{''.join(details)}"
    )


def _summary(
    columns: Mapping[str, str],
    scores: Mapping[str, list[float]],
    passed: Mapping[str, int],
    submissions: Sequence[Record],
) -> str:
    """Class figures under the table: what an instructor looks at first."""
    if not submissions:
        return ""
    totals = [number(s.get("score")) or 0.0 for s in submissions]

    def mean(values: Sequence[float]) -> str:
        return f"{sum(values) / len(values):.2f}" if values else "-"

    means = "".join(f"<td>{mean(scores[c])}</td>" for c in columns)
    passes = "".join(f"<td>{passed[c]}/{len(submissions)}</td>" for c in columns)
    mean_heading, passed_heading = _ui(_("mean score")), _ui(_("passed"))
    return (
        f'<tfoot><tr><th class="name">{mean_heading}</th>{means}<td class="total">'
        f'{mean(totals)}</td></tr><tr><th class="name">{passed_heading}</th>{passes}'
        "<td></td></tr></tfoot>"
    )


def build_page(
    runs: Sequence[Record],
    gradebook: Record | None = None,
    *,
    title: str = "sleepbench report",
    generated: str = "",
) -> str:
    """The whole report as one HTML document."""
    failed = sum(1 for r in runs if r.get("outcome") != "passed")
    summary = [ngettext("{count} run(s), {failed} failed", "{count} run(s), {failed} failed",
                        len(runs)).format(count=len(runs), failed=failed)
               ] if runs or gradebook is None else []
    if gradebook is not None:
        submissions = records(gradebook.get("submissions"))
        summary.insert(0, ngettext("{count} submission(s)", "{count} submission(s)",
                                   len(submissions)).format(count=len(submissions)))
    if generated:
        summary.append(_("generated {when}").format(when=generated))
    body = [f"<header><h1>{_text(title)}</h1><p class=\"meta\">{_text(', '.join(summary))}</p>"
            "</header>"]
    if gradebook is not None:
        body.append(_gradebook(gradebook))
    if runs or gradebook is None:
        body.append(_runs_section(runs))
    return (
        f'<!DOCTYPE html>\n<html lang="{_text(language().replace("_", "-"))}"><head>'
        '<meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
