"""/retention, /lifecycle and /stickiness on 1,000,000 product events: this service against
DuckDB, same data, same run.

Generates (seeded, in DuckDB) 1,000,000 events of 100,000 customers over 13 weeks with a plan
per customer, then times:
- ours: the release build of examples/events_bench.rs (CSV parse once; then per case the
  compute from typed rows to the serialised answer, median of 3);
- DuckDB: the reference SQL of tests/fixtures/product_events_reference.py (the SQL the tests
  check every cell against; written for clarity, not tuned) on the events already loaded,
  median of 3 — each run builds the kept events with their local day, the segments, and the
  table;
and checks that every field DuckDB computes equals ours, segments included.
Writes the figures into BENCHMARKS.md between the events-benchmark markers.
"""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import product_events_reference as ref  # noqa: E402
from benchmarks_md import timed, write_section  # noqa: E402

WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
N = 1_000_000
CASES = [
    {"name": "retention_30_days", "endpoint": "/retention", "request": {"intervals": 30}},
    {"name": "retention_by_plan_new_york", "endpoint": "/retention",
     "request": {"intervals": 14, "start_event": "signup", "group_by": ["plan"], "timezone": "America/New_York"}},
    {"name": "lifecycle_weeks_by_plan", "endpoint": "/lifecycle", "request": {"period": "week", "group_by": ["plan"]}},
    {"name": "stickiness_by_plan", "endpoint": "/stickiness", "request": {"group_by": ["plan"]}},
]


def generate():
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, "product_events_1m.csv")
    if not os.path.exists(path):
        con = duckdb.connect()
        con.execute("SELECT setseed(0.13)")
        con.execute(f"""
            COPY (
              SELECT 'u' || c AS customer_id,
                     strftime(TIMESTAMP '2024-01-01' + to_microseconds(CAST(floor(random() * 91 * 86400e6) AS BIGINT)),
                              '%Y-%m-%dT%H:%M:%SZ') AS timestamp,
                     CASE WHEN r < 0.05 THEN 'signup' WHEN r < 0.20 THEN 'purchase' ELSE 'login' END AS event,
                     ['free', 'pro', 'team'][1 + c % 3] AS plan,
                     ['JP', 'US', 'DE', 'BR'][1 + c % 4] AS country
              FROM (SELECT CAST(floor(random() * 100000) AS INT) AS c, random() AS r FROM range({N}))
            ) TO '{path}' (HEADER, DELIMITER ',')""")
    return path


def project(actual, expected):
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: project(actual.get(k), v) for k, v in expected.items()}
    if isinstance(expected, list) and isinstance(actual, list):
        return [project(a, expected[i] if i < len(expected) else None) for i, a in enumerate(actual)]
    return actual


def main():
    path = generate()
    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "events_bench"], cwd=ROOT, check=True)
    out_dir = tempfile.mkdtemp(prefix="events-bench-")
    cases_path = os.path.join(out_dir, "cases.json")
    json.dump(CASES, open(cases_path, "w"))
    out = subprocess.run([os.path.join(ROOT, "target/release/examples/events_bench"), path, cases_path, out_dir, "3"],
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()
    parse = json.loads(out[0])
    ours = {json.loads(line)["name"]: json.loads(line) for line in out[1:]}

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    load_s, _ = timed(lambda: ref.load_events_table(con, path), 3)
    rows = []
    for case in CASES:
        duck_s, expected = timed(lambda: ref.run_case(con, case["endpoint"], case["request"]), 3)
        answer = json.load(open(os.path.join(out_dir, case["name"] + ".json")))
        assert project(answer["total"], expected["total"]) == expected["total"], case["name"]
        assert len(answer["segments"]) == len(expected["segments"]), case["name"]
        for got, want in zip(answer["segments"], expected["segments"]):
            assert project(got, want) == want, (case["name"], want["segment"])
        mine = ours[case["name"]]["compute_median_s"]
        ratio = f"{duck_s / mine:.1f}× faster" if duck_s >= mine else f"{mine / duck_s:.1f}× slower"
        segments = len(expected["segments"])
        rows.append(f"| `{case['endpoint']}` {json.dumps(case['request'])} | {segments or '—'} | {mine * 1000:.0f} ms | {duck_s * 1000:.0f} ms | {ratio} |")

    read = parse["parse_s"]
    read_ratio = f"{load_s / read:.1f}× faster" if load_s >= read else f"{read / load_s:.1f}× slower"
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_events.sh` on this machine ({os.cpu_count()} cores); "
        f"DuckDB {duckdb.__version__} with 2 threads, Python {platform.python_version()}. {parse['events']:,} events of 100,000 customers "
        "over 13 weeks (login 80 %, purchase 15 %, signup 5 %; a plan and a country per customer). Reading: ours reads the CSV "
        "into the columns a request keeps (ids, names and attribute values interned, instants parsed), DuckDB loads it into a table "
        "and casts the timestamps; medians of 3. Each request: ours from the events as read to the serialised answer, median "
        "of 3; DuckDB runs the reference SQL of `tests/fixtures/product_events_reference.py` (written to be checked by eye, not "
        "tuned) on the loaded table, median of 3, each run building the kept events with their local day, the segments and the "
        "table. Every field DuckDB computes was checked equal to ours, segments included.",
        "",
        "| request | segments | retention-kpi | DuckDB | retention-kpi against DuckDB |",
        "|---|---|---|---|---|",
        f"| reading the 1,000,000-event CSV | — | {read * 1000:.0f} ms | {load_s * 1000:.0f} ms | {read_ratio} |",
        *rows,
    ]
    write_section("events-benchmark", "/retention, /lifecycle and /stickiness on 1,000,000 events: retention-kpi against DuckDB", lines)


if __name__ == "__main__":
    main()
