#!/usr/bin/env bash
# Installs the Debian packages needed to build and test okta-connector, when they are missing:
# libsqlite3-dev to build (GRDB links the system SQLite); for the tests, chromium (the status page
# is rendered headless, and scripts/browser-tests.sh drives it through the console), python3 and
# python3-venv (CSV files are parsed back with its csv module; the browser tests' Playwright lives in
# a virtual environment, scripts/install-browser-tools.sh), openssl (the browser tests' certificate)
# and postgresql-15 (scripts/with-postgres.sh starts a throwaway server for the PostgreSQL store tests).
# Swift itself comes with the machine (/opt/swift); TLS comes from SwiftNIO SSL (BoringSSL built
# into the package), so Debian's libssl-dev is not needed.
set -euo pipefail

packages=(libsqlite3-dev chromium python3 python3-venv openssl postgresql-15)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
