#!/usr/bin/env bash
# Installs what the browser tests need into .build-browser-tools/ (gitignored): a Python virtual
# environment with Playwright (it drives Debian's /usr/bin/chromium through `executable_path`; no
# browser is downloaded) and axe-playwright-python (it ships axe-core for the accessibility check).
# Idempotent: a venv that already has both pinned versions is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build-browser-tools/venv
playwright_version=1.65.2
axe_version=0.1.8
if [[ -x $venv/bin/python ]] && $venv/bin/python - "$playwright_version" "$axe_version" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(0 if version("playwright") == sys.argv[1] and version("axe-playwright-python") == sys.argv[2] else 1)
PY
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "playwright==$playwright_version" "axe-playwright-python==$axe_version"
