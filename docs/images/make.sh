#!/bin/sh
# Regenerates the screenshots in docs/images with the project's own commands:
#   docs/images/make.sh
# Needs the package installed (pip install -e .) and Debian's chromium (.ci/chromium.sh).
# Set PYTHON to choose the interpreter (default: python3).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

shoot() {  # shoot PAGE PNG WIDTH HEIGHT
    profile=$(mktemp -d)
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" --window-size="$3,$4" \
        --screenshot="$2" "file://$1" >/dev/null 2>&1
    rm -rf "$profile"
    echo "wrote $2"
}

cp "$here/demo/test_lesson.py" "$work/"
cd "$work"

# A learner's passing tests, with their timelines in the terminal summary.
COLUMNS=100 "$python" -m pytest -p sleepbench -p no:cacheprovider --color=yes \
    --sleepbench-timeline -k "not fastest_first" test_lesson.py > terminal.txt
height=$("$python" "$here/term2html.py" terminal.txt terminal.html 100)
shoot "$work/terminal.html" "$here/terminal-timeline.png" 900 "$height"

# The whole demo, with the test that expects fastest-first of two workers, as an HTML report.
"$python" -m pytest -p sleepbench -p no:cacheprovider -q \
    --sleepbench-html=report.html test_lesson.py > /dev/null || true
shoot "$work/report.html" "$here/html-report.png" 1000 1900

# An instructor's grading of the example submissions: the gradebook, and one exercise's details.
cp -r "$repo/examples/submissions" "$work/subs"
"$python" -m pytest -p sleepbench -p no:cacheprovider -q --sleepbench-grade=subs \
    --sleepbench-json=grades.json --sleepbench-html=grades.html > /dev/null || true
shoot "$work/grades.html" "$here/html-gradebook.png" 1000 480
# The details of serial_in_disguise's ex2. Headless screenshots ignore a URL's fragment, so a
# frame around the report scrolls to it.
anchor=$("$python" -c '
import json
doc = json.load(open("grades.json"))
for s, sub in enumerate(doc["submissions"]):
    for e, ex in enumerate(sub["exercises"]):
        if sub["name"] == "serial_in_disguise" and ex["id"] == "ex2":
            print(f"s{s}-e{e}")
')
printf '<!DOCTYPE html><body style="margin:0"><iframe src="grades.html#%s" style="%s"></iframe>' \
    "$anchor" "width:1000px;height:600px;border:0;display:block" > frame.html
shoot "$work/frame.html" "$here/html-grade-detail.png" 1000 600
