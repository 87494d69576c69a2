#!/usr/bin/env bash
# A throwaway PostgreSQL server for the booking journal's tests (tests/it/journal*.rs), from
# Debian's packages: a new cluster in a temporary directory, listening on a Unix socket there
# only (no TCP port to collide with), trust authentication for its superuser. It prints the
# connection string the tests read from HERO_TEST_POSTGRES:
#
#   export HERO_TEST_POSTGRES="$(scripts/postgres.sh)"
#   scripts/postgres.sh stop "$HERO_TEST_POSTGRES"     # when done (or let the machine go)
#
# PostgreSQL refuses to run as root: as root, the server runs as Debian's `postgres` user.
set -euo pipefail

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = stop ]; then
  dir=$(printf '%s\n' "$2" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  rm -rf "$dir"
  exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq postgresql >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq postgresql >/dev/null; }
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

dir=$(mktemp -d "${TMPDIR:-/tmp}/hero-health-postgres.XXXXXX")
chmod 755 "$dir"
[ "$(id -u)" -ne 0 ] || chown postgres "$dir"
as_server_user "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# Enough connections for the tests' replicas and crash runs side by side; no fsync for a
# throwaway cluster (the journal's durability is SQLite's and the real server's business).
as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses='' -k $dir -p 5432 -c max_connections=200 -c fsync=off" start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }
echo "host=$dir port=5432 user=postgres dbname=postgres"
