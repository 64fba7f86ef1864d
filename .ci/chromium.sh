#!/bin/sh
# Installs Debian's Chromium for the browser test of the HTML report (tests/html).
#
# It never fails the build: where Chromium cannot be installed (no apt-get, no root, no
# network) it says so, and the browser test then skips with that reason instead of running.
# Usage: .ci/chromium.sh    (idempotent; does nothing when chromium is already on PATH)

say() { echo "chromium.sh: $*" >&2; }

for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        say "found $(command -v "$name"): $("$name" --version 2>/dev/null || echo 'version unknown')"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    say "no chromium and no apt-get here; the browser test will be skipped"
    exit 0
fi

as_root=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root="sudo -n"
    else
        say "not root and no password-less sudo; the browser test will be skipped"
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
if $as_root apt-get update -q >/dev/null && $as_root apt-get install -y -q chromium >/dev/null
then
    say "installed $(chromium --version 2>/dev/null || echo chromium)"
else
    say "apt-get could not install chromium; the browser test will be skipped"
fi
exit 0
