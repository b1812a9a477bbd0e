#!/usr/bin/env bash
# Load test with wrk against the release binary on 127.0.0.1 (writes BENCHMARKS.md).
# Installs wrk from Debian's packages when missing. DURATION=10 seconds per row by default.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
  else
    echo "wrk is not installed: apt-get install wrk" >&2
    exit 1
  fi
fi
python3 scripts/load_test.py
