#!/usr/bin/env bash
# Hostile-load cases against the release binary on loopback (writes BENCHMARKS.md). With
# BASELINE_REV (a git revision), the same cases run against that revision's release build,
# built in a worktree beside this one, in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
if [ -n "${BASELINE_REV:-}" ]; then
  base="${TMPDIR:-/tmp}/retention-kpi-baseline-$BASELINE_REV"
  [ -d "$base" ] || git worktree add -q "$base" "$BASELINE_REV"
  (cd "$base" && CARGO_TARGET_DIR="$base-target" cargo build --release --quiet)
  export BASELINE_BINARY="$base-target/release/retention-kpi"
fi
python3 scripts/hostile_load.py
