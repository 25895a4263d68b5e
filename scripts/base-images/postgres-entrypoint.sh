#!/bin/bash
# The entrypoint of the locally made postgres:15-bookworm image (scripts/make-base-images.sh): the
# part of the official image's docker-entrypoint.sh the compose stack uses. On an empty data folder
# it creates the cluster with POSTGRES_USER as its superuser (password from POSTGRES_PASSWORD_FILE
# or POSTGRES_PASSWORD, scram-sha-256 over TCP) and POSTGRES_DB, then runs the command as postgres.
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi
if [[ ${1:-} != postgres ]]; then exec "$@"; fi

if [[ $(id -u) -eq 0 ]]; then
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    password=${POSTGRES_PASSWORD:-}
    if [[ -n ${POSTGRES_PASSWORD_FILE:-} ]]; then password=$(<"$POSTGRES_PASSWORD_FILE"); fi
    if [[ -z $password ]]; then
        echo "postgres-entrypoint: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE" >&2
        exit 1
    fi
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}
    initdb --username="$user" --pwfile=<(printf '%s\n' "$password") --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA" >/dev/null
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    if [[ $database != postgres ]]; then
        # A server for the setup only, on a socket of its own: a healthcheck's pg_isready (default
        # socket) must not take it for the real one, which starts after it stops.
        setup_socket=$(mktemp -d)
        pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=$setup_socket" -w start >/dev/null
        psql -v ON_ERROR_STOP=1 -h "$setup_socket" -U "$user" -d postgres -q -c "CREATE DATABASE \"$database\""
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
        rmdir "$setup_socket"
    fi
    echo "postgres-entrypoint: initialised $PGDATA (user $user, database $database)"
fi
exec "$@"
