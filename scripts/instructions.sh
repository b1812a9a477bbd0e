#!/usr/bin/env bash
# Instructions the server executes per request (valgrind's callgrind: counts, not seconds, so
# the figure does not depend on what else the machine is doing), for GET /healthz, POST /crr
# and POST /nps, with wrk driving the release binary on 127.0.0.1. With a git revision as
# argument, that revision is built too and measured in the same run (writes BENCHMARKS.md).
# Installs valgrind and wrk from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }
  else
    echo "missing: ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
python3 scripts/instructions.py "$@"
