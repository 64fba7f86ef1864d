"""Turn a captured terminal session (with ANSI colours) into an HTML page to screenshot.

Usage: python term2html.py CAPTURE.txt PAGE.html COLUMNS; prints the page height in pixels.
Lines longer than COLUMNS wrap, as they do in the terminal.
"""

from __future__ import annotations

import html
import math
import re
import sys

SGR = re.compile(r"\x1b\[([0-9;]*)m")
COLOURS = {30: "#1f2328", 31: "#ff6b6b", 32: "#51cf66", 33: "#fcc419", 34: "#74c0fc",
           35: "#f783ac", 36: "#66d9e8", 37: "#e9ecef"}
LINE = 18  # px per line, from the CSS below


def convert(text: str) -> str:
    out: list[str] = []
    colour: str | None = None
    bold = False
    pos = 0
    for match in SGR.finditer(text):
        out.append(html.escape(text[pos:match.start()]))
        pos = match.end()
        for code in [int(c) for c in match.group(1).split(";") if c] or [0]:
            if code == 0:
                colour, bold = None, False
            elif code == 1:
                bold = True
            elif code in COLOURS or code - 60 in COLOURS:
                colour = COLOURS.get(code, COLOURS.get(code - 60))
        out.append("</span><span" + (f' style="color:{colour}' if colour else ' style="')
                   + (';font-weight:700"' if bold else '"') + ">")
    out.append(html.escape(text[pos:]))
    return "<span>" + "".join(out) + "</span>"


def main() -> None:
    source, target, columns = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(source, encoding="utf-8") as capture:
        text = capture.read().rstrip("\n")
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "body { margin: 0; background: #1e1e1e; }"
        f"pre {{ margin: 0; padding: 12px 16px; color: #e9ecef; font: 14px/{LINE}px "
        "'DejaVu Sans Mono', 'Liberation Mono', monospace; white-space: pre-wrap; "
        f"width: {columns + 1}ch; }}"
        f"</style></head><body><pre>{convert(text)}</pre></body></html>"
    )
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(page)
    rows = sum(max(1, math.ceil(len(SGR.sub("", line)) / columns))
               for line in text.split("\n"))
    print(LINE * rows + 24)


if __name__ == "__main__":
    main()
