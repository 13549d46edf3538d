#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL cluster on loopback for the server's tests.
#   bash scripts/start_test_postgres.sh DIR        → prints a SQLAlchemy URL on stdout
#   bash scripts/start_test_postgres.sh DIR stop
# Uses Debian's postgresql binaries; as root, the cluster runs as the `postgres` user. Trust
# authentication on 127.0.0.1 only, fsync off: a test database, never a real one.
set -euo pipefail
dir=$(mkdir -p "$1" && cd "$1" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }
run() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${2:-}" = "stop" ]; then
  run "$bin/pg_ctl" -D "$dir/data" stop -m fast >/dev/null
  exit 0
fi
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
if [ ! -d "$dir/data" ]; then
  run "$bin/initdb" -D "$dir/data" -A trust -U momentsense --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "postgresql+psycopg://momentsense@127.0.0.1:$port/postgres"
