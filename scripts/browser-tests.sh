#!/usr/bin/env bash
# The operator console in a real browser (Tests/Browser/console_browser_test.py): a real
# `okta-connector serve` against a real `okta-sim`, driven through Debian's Chromium by Playwright,
# with axe-core's accessibility checks. At most 10 minutes; every process it starts is stopped on
# exit, also on failure or at the time limit.
#
#   scripts/browser-tests.sh                      # screenshots go to .build-browser-tools/screenshots/
#   scripts/browser-tests.sh --update-screenshots # and are copied to docs/ (shown in the README)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-browser-tools.sh
chromium=${OKTA_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
    echo "browser tests: $chromium is missing (scripts/install-build-deps.sh installs Debian's chromium)" >&2
    exit 1
fi
swift build --product okta-connector
swift build --product okta-sim
bin=$(swift build --show-bin-path)
screenshots=.build-browser-tools/screenshots
rm -rf "$screenshots"

# The test stops what it started; should it be killed, the process groups it recorded are.
groups=$(mktemp)
cleanup() {
    while read -r group; do kill -KILL -- "-$group" 2>/dev/null || true; done <"$groups"
    rm -f "$groups"
}
trap cleanup EXIT
# SIGTERM at 10 minutes lets the test stop its processes; SIGKILL 30 s later if it could not.
status=0
timeout --kill-after=30 600 .build-browser-tools/venv/bin/python Tests/Browser/console_browser_test.py \
    --bin "$bin" --chromium "$chromium" --screenshots "$screenshots" --process-groups "$groups" || status=$?
if ((status == 124)); then echo "browser tests: stopped at the 10-minute limit" >&2; fi
if ((status == 0)) && [[ ${1:-} == --update-screenshots ]]; then
    cp "$screenshots"/console-*.png docs/
    echo "screenshots copied to docs/"
fi
exit "$status"
