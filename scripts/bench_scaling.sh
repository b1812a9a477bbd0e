#!/usr/bin/env bash
# Column-batch bodies (JSON, CSV, Arrow, Parquet on 1,000,000 events) and the reduction path
# (DuckDB + summary against the raw request on 10,000,000 events); writes BENCHMARKS.md.
# Installs its Python tools in a virtualenv of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${BENCH_VENV:-/tmp/retention-kpi-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check duckdb==2.0.1 numpy pyarrow
"$venv/bin/python" scripts/bench_scaling.py
