#!/usr/bin/env bash
# /retention, /lifecycle and /stickiness on 1,000,000 events against DuckDB (writes
# BENCHMARKS.md). Installs its Python tools in a virtualenv of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${BENCH_VENV:-/tmp/retention-kpi-bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check duckdb==2.0.1
"$venv/bin/python" scripts/bench_events.py
