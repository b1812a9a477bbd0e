#!/usr/bin/env bash
# Property-based API testing of the release binary against the committed openapi.yaml with
# schemathesis (installed in a virtualenv of its own): no server error, no response outside
# the spec. Bounded: MAX_EXAMPLES per operation (default 40), a few minutes in all.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SCHEMATHESIS_VENV:-/tmp/retention-kpi-schemathesis-venv}"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4,<5"
fi
cargo build --release --locked --quiet
port="${SCHEMATHESIS_PORT:-18181}"
PORT="$port" HOST=127.0.0.1 RUST_LOG=warn ./target/release/retention-kpi &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
PY
"$venv/bin/st" run openapi.yaml \
  --url "http://127.0.0.1:$port" \
  --checks all \
  --max-examples "${MAX_EXAMPLES:-40}" \
  --request-timeout 30 \
  --seed 2026
