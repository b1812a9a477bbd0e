#!/usr/bin/env bash
# Clients generated from the committed openapi.yaml and used against the release binary:
# - Python: openapi-python-client (pinned, in a virtualenv of its own) generates a package into
#   a temporary directory; clients/python_client_check.py calls every operation through it and
#   parses one problem+json. The generator must generate every operation ("Endpoint will not
#   be generated" fails the run).
# - TypeScript: openapi-typescript generates ui-tests/generated/schema.d.ts; tsc --strict
#   compiles ui-tests/client_check.ts (openapi-fetch, typed by that schema) and node runs it.
# Nothing generated is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CLIENTS_VENV:-${TMPDIR:-/tmp}/retention-kpi-clients-venv}"
if [ ! -x "$venv/bin/openapi-python-client" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    openapi-python-client==0.29.1 PyYAML==6.0.2
fi
(cd ui-tests && npm ci --no-audit --no-fund --silent)
cargo build --release --locked --quiet
port="${CLIENTS_PORT:-18484}"
PORT="$port" HOST=127.0.0.1 RUST_LOG=warn ./target/release/retention-kpi &
server=$!
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "-- Python client (openapi-python-client $("$venv/bin/openapi-python-client" --version | awk '{print $NF}'))"
"$venv/bin/openapi-python-client" generate --path openapi.yaml \
  --output-path "$work/py/retention_kpi_client" --meta none >"$work/generate.log" 2>&1 \
  || { cat "$work/generate.log"; exit 1; }
if grep -q "will not be generated" "$work/generate.log"; then
  cat "$work/generate.log"
  echo "openapi-python-client left operations out" >&2
  exit 1
fi
PYTHONPATH="$work/py" "$venv/bin/python" clients/python_client_check.py \
  "http://127.0.0.1:$port" openapi.yaml

echo "-- TypeScript client (openapi-typescript + openapi-fetch, tsc --strict)"
(
  cd ui-tests
  rm -rf generated
  npx --no-install openapi-typescript ../openapi.yaml -o generated/schema.d.ts
  npx --no-install tsc -p tsconfig.json
)
curl -fsS "http://127.0.0.1:$port/openapi.json" >"$work/openapi.json"
cmp <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$work/openapi.json") \
    <("$venv/bin/python" -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), sort_keys=True, default=str))' openapi.yaml) \
  || { echo "the served /openapi.json is not the committed openapi.yaml" >&2; exit 1; }
node ui-tests/generated/out/client_check.js "http://127.0.0.1:$port" "$work/openapi.json"
