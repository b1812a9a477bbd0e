#!/usr/bin/env bash
# The reduction SQL of GET /sql/{reduction} run for real: DuckDB, a private PostgreSQL server
# (Debian's postgresql, started here on a free loopback port and stopped on exit), Spark SQL in
# local mode (pyspark with Debian's JRE), and the BigQuery and Snowflake dialects parsed by
# sqlglot and run in DuckDB. Each summary is posted and must answer as the raw rows do, and the
# raw rows written to Parquet by DuckDB must answer as their JSON body
# (scripts/sql_check.py). Installs what a fresh machine lacks: the PostgreSQL server and a
# JRE from Debian, duckdb, sqlglot, psycopg and pyspark from PyPI (pinned).
#
#   SQL_CHECK_SPARK=0 skips Spark (the rest still runs).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SQL_CHECK_VENV:-${TMPDIR:-/tmp}/retention-kpi-sql-venv}"
spark="${SQL_CHECK_SPARK:-1}"

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ "$spark" = 1 ] && ! command -v java >/dev/null 2>&1; then need+=(openjdk-17-jre-headless); fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]} (Debian)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
packages=(duckdb==2.0.1 sqlglot==30.31.0 "psycopg[binary]==3.3.9")
[ "$spark" = 1 ] && packages+=(pyspark==4.3.0)
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"

cargo build --release --locked --quiet
port="${SQL_CHECK_PORT:-18485}"
work=$(mktemp -d /tmp/rk-sql.XXXXXX)
chmod 755 "$work" # the server runs as the postgres user, who must reach its directory
PORT="$port" HOST=127.0.0.1 RUST_LOG=warn ./target/release/retention-kpi &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  bash scripts/pg_server.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
pg_uri=$(bash scripts/pg_server.sh start "$work/pg" 2>"$work/pg.log") || { cat "$work/pg.log"; exit 1; }
echo "PostgreSQL $(psql --version | awk '{print $3}') at ${pg_uri%%/sqlcheck}"
args=(--base "http://127.0.0.1:$port" --pg "$pg_uri" --parquet-dir "$work")
if [ "$spark" = 1 ]; then
  args+=(--spark)
  export JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
  export PYSPARK_PYTHON="$venv/bin/python" PYSPARK_DRIVER_PYTHON="$venv/bin/python"
fi
"$venv/bin/python" scripts/sql_check.py "${args[@]}" "$@"
