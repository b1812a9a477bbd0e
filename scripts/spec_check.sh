#!/usr/bin/env bash
# The committed openapi.yaml loads in a YAML 1.1 reader (PyYAML's safe_load, which the Python
# client generators use) and validates as OpenAPI 3.1 (openapi-spec-validator). Installs both in
# a virtualenv of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/retention-kpi-spec-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check pyyaml==6.0.2 openapi-spec-validator==0.7.1
"$venv/bin/python" - <<'PY'
import yaml
from openapi_spec_validator import validate

with open("openapi.yaml") as fh:
    spec = yaml.safe_load(fh)
validate(spec)
operations = sum(1 for item in spec["paths"].values() for method in item if method in ("get", "post"))
schemes = sorted(spec["components"]["securitySchemes"])
print(f"openapi.yaml: PyYAML safe_load and openapi-spec-validator accept it ({operations} operations, security schemes {schemes})")
PY
