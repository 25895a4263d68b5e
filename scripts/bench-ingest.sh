#!/usr/bin/env bash
# The ingest benchmark with wrk as the load generator in its own process, one command:
#   scripts/bench-ingest.sh [--scratch-path .build] [--seconds 5] [--concurrency 8 ...]
# Installs Debian's wrk when missing, builds okta-benchmarks (release) and runs it against the
# receiver on SQLite and on a throwaway PostgreSQL (scripts/with-postgres.sh), each beside the
# bare-TLS ceiling of the same server stack.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk
fi
scratch=.build
if [[ ${1:-} == --scratch-path ]]; then
    scratch=$2
    shift 2
fi
swift build -c release --scratch-path "$scratch" --product okta-benchmarks
binaries=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
arguments=("$@")
((${#arguments[@]})) || arguments=(--concurrency 1 --concurrency 8 --concurrency 32)
scripts/with-postgres.sh "$binaries/okta-benchmarks" ingest --load-generator wrk "${arguments[@]}"
