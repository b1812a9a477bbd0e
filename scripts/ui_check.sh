#!/usr/bin/env bash
# The page and the charts in a real browser: installs Debian's chromium when missing, the
# pinned npm packages of ui-tests/ (package-lock.json), starts the release binary on a private
# port, and runs ui-tests/ui_check.mjs (light and dark schemes). Screenshots land in
# ${SHOTS_DIR:-target/ui-shots}.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
(cd ui-tests && npm ci --no-audit --no-fund --silent)
cargo build --release --locked --quiet
port="${UI_PORT:-18282}"
PORT="$port" HOST=127.0.0.1 RUST_LOG=warn ./target/release/retention-kpi &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
export SHOTS_DIR="${SHOTS_DIR:-$PWD/target/ui-shots}"
mkdir -p "$SHOTS_DIR"
BASE_URL="http://127.0.0.1:$port" node ui-tests/ui_check.mjs
