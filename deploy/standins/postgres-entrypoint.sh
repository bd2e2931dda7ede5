#!/bin/bash
# TEST STAND-IN for the official postgres image's entrypoint: only POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB and PGDATA are reproduced.
set -euo pipefail
if [ "${1:-}" = postgres ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    pw=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}" > "$pw"
    chown postgres "$pw"
    runuser -u postgres -- initdb -D "$PGDATA" -U "$user" --pwfile="$pw" \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pw"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
      runuser -u postgres -- postgres --single -D "$PGDATA" -j postgres \
        <<< "CREATE DATABASE \"$db\" OWNER \"$user\";" >/dev/null
    fi
    echo "initialised $PGDATA (user $user, database $db)"
  fi
  shift
  exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
