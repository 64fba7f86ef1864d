#!/usr/bin/env bash
# The translation catalogs after messages changed in the source: extract them into the
# template (pytest_sleepbench/locale/sleepbench.pot), merge it into each language's .po (then
# translate what is new, and check what pybabel marked fuzzy), and compile the .mo files a
# checkout reads. A build compiles its own; tests/test_i18n.py fails until the catalogs match
# the source. PYBABEL names the pybabel to use (default: the project's .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel=${PYBABEL:-.venv/bin/pybabel}
locale=pytest_sleepbench/locale

# Underscore folders (_plugin) hold messages too; pybabel leaves them out unless told.
"$pybabel" --quiet extract --mapping-file=babel.cfg --ignore-dirs='.* __pycache__' --no-location \
  --sort-output --add-comments=TRANSLATORS: --project=pytest-sleepbench \
  --copyright-holder=pytest-sleepbench --output-file="$locale/sleepbench.pot" pytest_sleepbench
"$pybabel" update --input-file="$locale/sleepbench.pot" --output-dir="$locale" \
  --domain=sleepbench --ignore-obsolete
"$pybabel" compile --directory="$locale" --domain=sleepbench --statistics
