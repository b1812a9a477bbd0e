#!/usr/bin/env bash
# Cox fit benchmark (rossi and BENCH_N generated subscriptions with 5 covariates) against
# lifelines' CoxPHFitter, same data, same run; writes BENCHMARKS.md. Installs its Python tools
# in a virtualenv of its own, at the versions the reference fixtures were made with.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${BENCH_COX_VENV:-/tmp/retention-kpi-cox-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  lifelines==0.30.3 pandas==2.3.3 numpy==2.4.6 scipy==1.17.1
"$venv/bin/python" scripts/bench_cox.py
