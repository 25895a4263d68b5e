#!/usr/bin/env bash
# Starts the local scale-out stack: creates a local CA, the certificates and random secrets in
# deploy/compose/.local (once; delete the folder to start over), then builds and starts everything.
#   deploy/compose/up.sh [docker compose up options, e.g. -d]
#   deploy/compose/up.sh --secrets-only     # only .local (scripts/verify-compose.sh starts the stack
#                                           # with podman-compose, in its own order)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p .local && chmod 700 .local
cd .local
if [[ ! -f ca.crt ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
        -subj "/CN=okta-connector local CA" -keyout ca.key -out ca.crt 2>/dev/null
    issue() { # name, subjectAltNames
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
            -keyout "$1.key" -out "$1.csr" 2>/dev/null
        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
            -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2") -out "$1.crt" 2>/dev/null
        rm "$1.csr"
    }
    issue connector "DNS:connector-1,DNS:connector-2,DNS:localhost"
    issue load-balancer "DNS:load-balancer,DNS:localhost,IP:127.0.0.1"
    cat load-balancer.crt load-balancer.key >load-balancer.pem
    for secret in postgres-password admin-token hook-secret; do
        openssl rand -hex 24 >"$secret"
    done
    # The containers run as UID 10001 (connector) and other users (postgres, haproxy): readable files.
    chmod 644 ./*
fi
cd ..
if [[ ${1:-} == --secrets-only ]]; then exit 0; fi
exec docker compose -p okta-connector -f compose.yaml up --build "$@"
