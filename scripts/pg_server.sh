#!/usr/bin/env bash
# Private throwaway PostgreSQL for CI.
#   pg.sh start DIR [PORT] [DBNAME]  -> prints postgresql:// URI on stdout (logs go to stderr)
#   pg.sh stop  DIR                  -> fast shutdown (data dir is left; rm -rf DIR yourself)
# PORT defaults to a free loopback port; DBNAME defaults to "sqlcheck".
# As root, initdb/postgres refuse to run, so the server runs as the OS user
# "postgres" (override with PG_RUN_AS=user) via runuser; DIR is chowned to it.
set -euo pipefail

PGBIN=${PGBIN:-}
if [ -z "$PGBIN" ]; then
  for c in /usr/lib/postgresql/*/bin; do [ -x "$c/initdb" ] && PGBIN=$c; done
  [ -n "$PGBIN" ] || PGBIN=$(dirname "$(command -v initdb || command -v pg_ctl)")
fi
[ -x "$PGBIN/initdb" ] || { echo "pg.sh: initdb not found (set PGBIN)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "${PG_RUN_AS:-postgres}" -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

cmd=${1:?usage: pg.sh start|stop DIR [PORT] [DBNAME]}
dir=${2:?DIR required}

case "$cmd" in
start)
  port=${3:-$(free_port)}
  db=${4:-sqlcheck}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if [ "$(id -u)" = 0 ]; then
    chown "${PG_RUN_AS:-postgres}:" "$dir"
    as_pg test -w "$dir" || { echo "pg.sh: ${PG_RUN_AS:-postgres} cannot reach $dir (check parent dir permissions)" >&2; exit 1; }
  fi
  chmod 700 "$dir"
  # unix socket lives in DIR/sock; path must stay < ~100 chars
  as_pg mkdir -p "$dir/data" "$dir/sock"
  as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" >&2
  echo "postgresql://postgres@127.0.0.1:$port/$db"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] || { echo "pg.sh: not running in $dir" >&2; exit 0; }
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2
  ;;
*) echo "usage: pg.sh start|stop DIR [PORT] [DBNAME]" >&2; exit 2 ;;
esac
