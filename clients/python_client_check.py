"""Calls every operation of the running service through the Python client that
openapi-python-client generated from openapi.yaml (scripts/clients_check.sh generates it into a
temporary directory and puts it on sys.path as `retention_kpi_client`).

For each operation: the first example of its JSON body (the spec's), built into the generated
request model with `from_dict`, sent with `sync_detailed`, and the answer parsed by the
generated response model; then one refusal parsed as the generated `Problem`. Any failure
exits non-zero with the operation named.

usage: python_client_check.py BASE_URL SPEC_PATH
"""

import enum
import importlib
import inspect
import json
import sys
import typing

import yaml

from retention_kpi_client import Client
from retention_kpi_client.models.problem import Problem

base_url, spec_path = sys.argv[1], sys.argv[2]
with open(spec_path, encoding="utf-8") as f:
    spec = yaml.safe_load(f)
# Unexpected statuses are checked below rather than raised: the generator leaves out the
# application/yaml answer of GET /openapi.yaml (a type it does not parse), which is still
# called and checked by its bytes.
client = Client(base_url=base_url, raise_on_unexpected_status=False, timeout=120)
failures = []


def body_model(function):
    """The generated model class of an operation's `body` parameter."""
    annotation = inspect.signature(function).parameters["body"].annotation
    if isinstance(annotation, str):
        annotation = eval(annotation, function.__globals__)  # noqa: S307 (generated names)
    for candidate in typing.get_args(annotation) or (annotation,):
        if hasattr(candidate, "from_dict"):
            return candidate
    raise TypeError(f"no model in {annotation!r}")


calls = 0
for path, item in spec["paths"].items():
    for method, operation in item.items():
        op_id = operation["operationId"]
        tag = operation["tags"][0]
        module = importlib.import_module(f"retention_kpi_client.api.{tag}.{op_id}")
        kwargs = {"client": client}
        # Parameters with an example (GET /sql/{reduction}) take it; enums as their model.
        signature = inspect.signature(module.sync_detailed)
        for parameter in operation.get("parameters", []):
            if "example" not in parameter:
                continue
            value = parameter["example"]
            annotation = signature.parameters[parameter["name"]].annotation
            if isinstance(annotation, str):
                annotation = eval(annotation, module.sync_detailed.__globals__)  # noqa: S307
            for candidate in typing.get_args(annotation) or (annotation,):
                if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                    value = candidate(value)
            kwargs[parameter["name"]] = value
        if "requestBody" in operation:
            content = operation["requestBody"]["content"]["application/json"]
            examples = content.get("examples") or {}
            example = next(iter(examples.values()))["value"] if examples else content["example"]
            kwargs["body"] = body_model(module.sync_detailed).from_dict(example)
        try:
            response = module.sync_detailed(**kwargs)
        except Exception as error:  # noqa: BLE001 (reported, then the run fails)
            failures.append(f"{method.upper()} {path}: {str(error)[:300]}")
            continue
        calls += 1
        parsed = response.parsed
        ok = response.status_code == 200
        if path == "/openapi.yaml":
            ok = ok and response.content.startswith(b"openapi: 3.1")
        elif ok and path != "/metrics":
            ok = parsed is not None and not isinstance(parsed, Problem)
        print(f"{'ok  ' if ok else 'FAIL'} {method.upper()} {path} -> {response.status_code} {type(parsed).__name__}")
        if not ok:
            failures.append(f"{method.upper()} {path}: {response.status_code} {response.content[:300]!r}")

# One refusal, parsed as the generated Problem: no start customers to retain.
from retention_kpi_client.api.retention import customer_retention_rate  # noqa: E402
from retention_kpi_client.models.crr_request import CrrRequest  # noqa: E402

refused = customer_retention_rate.sync_detailed(
    client=client,
    body=CrrRequest.from_dict({"start_customers": 0, "end_customers": 5, "new_customers": 5}),
)
problem = refused.parsed
ok = (
    refused.status_code == 422
    and isinstance(problem, Problem)
    and problem.status == 422
    and problem.errors[0].pointer == "/start_customers"
)
print(f"{'ok  ' if ok else 'FAIL'} POST /crr refused -> {refused.status_code} {type(problem).__name__} {json.dumps(problem.to_dict()) if problem else ''}")
if not ok:
    failures.append("the refusal was not parsed as a Problem naming /start_customers")

if failures:
    print(f"{len(failures)} failure(s):", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"python client: {calls} operations called, one problem parsed")
