#!/usr/bin/env bash
# Purchase-model fit benchmark (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB) against lifetimes (writes BENCHMARKS.md). Installs its
# Python tools in a virtualenv of its own, at versions checked to import and fit together
# (lifetimes 0.11.3 is from 2020: newer pandas/scipy/numpy may break it).
# BENCH_CUSTOMERS=100000 for a quicker run; BENCH_SKIP_OURS=1 for the lifetimes side only
# (no cargo, BENCHMARKS.md untouched).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${BENCH_VENV:-/tmp/retention-kpi-bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  lifetimes==0.11.3 autograd==1.9.1 pandas==3.1.1 numpy==2.4.6 scipy==1.17.1
"$venv/bin/python" scripts/bench_models.py
