#!/usr/bin/env bash
# The side-by-side benchmark (issue 16), one command:
#   scripts/bench-peers.sh [--small 1000] [--large 20000] [--no-build] [--scratch-path .build]
# Builds okta-connector and okta-sim (release), installs airbyte-source-okta==0.3.26 from PyPI into
# .build-peers/airbyte (gitignored), maps <domain>.okta.com to 127.0.0.1 in /etc/hosts (Airbyte
# builds https://<domain>.okta.com; the line is removed on exit), and runs scripts/bench_peers.py:
# okta-sim serves the same org to both over HTTPS on port 443 with a certificate for that name,
# trusted for the run only. Needs root (port 443, /etc/hosts, the trust store).
set -euo pipefail
cd "$(dirname "$0")/.."

domain=okta-connector-bench
build=1
scratch=.build
passthrough=()
while (($#)); do
    case "$1" in
        --no-build) build=0 ;;
        --scratch-path) scratch=$2; shift ;;
        --domain) domain=$2; passthrough+=("$1" "$2"); shift ;;
        *) passthrough+=("$1") ;;
    esac
    shift
done
if [[ $(id -u) -ne 0 ]]; then
    echo "bench-peers: run as root (it serves on port 443, maps a host name in /etc/hosts and trusts a test certificate for the run)" >&2
    exit 1
fi
command -v update-ca-certificates >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates
if ((build)); then
    swift build -c release --scratch-path "$scratch" --product okta-connector
    swift build -c release --scratch-path "$scratch" --product okta-sim
fi
binaries=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

venv=.build-peers/airbyte
if [[ ! -x $venv/bin/source-okta ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check airbyte-source-okta==0.3.26
fi

host="$domain.okta.com"
marker="# okta-connector bench-peers"
cleanup() {
    # Rewritten in place, not replaced: /etc/hosts is often a bind mount in containers.
    local kept
    kept=$(grep -v "$marker\$" /etc/hosts || true)
    printf '%s\n' "$kept" >/etc/hosts
}
trap cleanup EXIT
# A signal ends the script through `exit`, so that the EXIT trap restores /etc/hosts.
trap "exit 130" INT
trap "exit 143" TERM
trap "exit 129" HUP
grep -q "$marker\$" /etc/hosts || printf '127.0.0.1 %s %s\n' "$host" "$marker" >>/etc/hosts

python3 scripts/bench_peers.py --binaries "$binaries" --venv "$venv" "${passthrough[@]}"
