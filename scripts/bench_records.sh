#!/usr/bin/env bash
# /series and /cohorts on 1,000,000 events against DuckDB (writes BENCHMARKS.md). Installs its
# Python tools in a virtualenv of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
# DuckDB 2.0.0: 2.0.1 took over five minutes on the series query (its ASOF join) that 2.0.0
# answers in about a second, measured 2026-12-06; a venv of its own keeps the pin.
venv="${BENCH_VENV:-/tmp/retention-kpi-records-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check duckdb==2.0.0 pandas numpy
"$venv/bin/python" scripts/bench_records.py
