#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL (the newest installed, e.g. Debian's postgresql-15):
# initdb in a temporary folder, pg_ctl on a free loopback port, OKTA_TEST_POSTGRES_URL exported for
# the tests, and the server stopped and the folder removed on exit, whatever the command's outcome.
#   scripts/with-postgres.sh swift test
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "with-postgres: no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql-15)" >&2
    exit 1
fi
folder=$(mktemp -d /tmp/okta-connector-pg.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password="okta-test-$RANDOM$RANDOM"
run=()
if [[ $(id -u) -eq 0 ]]; then
    # PostgreSQL refuses to run as root.
    chown postgres "$folder"
    run=(runuser -u postgres --)
fi

stop() {
    "${run[@]}" "$bin/pg_ctl" -D "$folder/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$folder"
}
trap stop EXIT

printf '%s\n' "$password" >"$folder/password"
chmod 600 "$folder/password"
[[ ${#run[@]} -gt 0 ]] && chown postgres "$folder/password"
"${run[@]}" "$bin/initdb" -D "$folder/data" -U okta --pwfile="$folder/password" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$folder/initdb.log" 2>&1 || { cat "$folder/initdb.log" >&2; exit 1; }
"${run[@]}" "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
    -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
    || { cat "$folder/server.log" >&2; exit 1; }
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (stopped on exit)"

export OKTA_TEST_POSTGRES_URL="postgres://okta:$password@127.0.0.1:$port/postgres?sslmode=disable"
"$@"
