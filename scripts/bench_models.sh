#!/usr/bin/env bash
# BG/NBD fit benchmark against lifetimes (writes BENCHMARKS.md). Installs its Python tools in
# a virtualenv of its own. BENCH_CUSTOMERS=100000 for a quicker run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${BENCH_VENV:-/tmp/retention-kpi-bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check lifetimes==0.11.3 pandas numpy scipy
"$venv/bin/python" scripts/bench_models.py
