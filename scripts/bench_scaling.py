"""Bodies and reductions at volume (#18), same data, same run; writes BENCHMARKS.md.

1. 1,000,000 activity events for /cohorts as JSON, CSV, an Arrow IPC stream and Parquet
   (snappy): bytes, parse (body to typed rows) and compute, in-process
   (examples/body_bench.rs, which also checks the four answers are equal), and the whole HTTP
   request to a release server.
2. 10,000,000 activity events: the raw request (Parquet, and CSV) against the reduction path,
   DuckDB running the query of GET /sql/cohorts on the table where the events are, then the
   summary request; the three answers checked equal byte for byte.

Amounts are quarter units, so the sums are exact and equality to the byte is a fair demand.
"""
import json
import os
import platform
import signal
import subprocess
import time
import urllib.request

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from benchmarks_md import timed, write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
os.makedirs(WORK, exist_ok=True)
PORT = int(os.environ.get("BENCH_PORT", "18081"))
START = np.datetime64("2023-01-01")
DAYS = 365 * 3


def events(n, seed):
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, n // 5, n)
    days = rng.integers(0, DAYS, n)
    return pa.table({
        "customer_id": pa.array(np.char.add("u", customers.astype(str))),
        "date": pa.array((START + days.astype("timedelta64[D]")).astype("datetime64[D]")),
        "amount": pa.array(rng.integers(1, 800, n) / 4.0),
    })


def write_formats(table, stem, formats=("json", "csv", "arrow", "parquet")):
    paths = {f: os.path.join(WORK, f"{stem}.{f}") for f in formats}
    if not all(os.path.exists(p) for p in paths.values()):
        pacsv.write_csv(table, paths["csv"], pacsv.WriteOptions(quoting_style="none"))
        if "arrow" in paths:
            with pa.ipc.new_stream(paths["arrow"], table.schema) as writer:
                writer.write_table(table, max_chunksize=65_536)
        pq.write_table(table, paths["parquet"], compression="snappy")
        if "json" not in paths:
            return paths
        rows = table.to_pydict()
        with open(paths["json"], "w") as f:
            f.write('{"period":"month","events":[')
            f.write(",".join(
                json.dumps({"customer_id": c, "date": d.isoformat(), "amount": a})
                for c, d, a in zip(rows["customer_id"], rows["date"], rows["amount"])))
            f.write("]}")
    return paths


def http(method, path, body=None, content_type=None):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=body, method=method)
    if content_type:
        request.add_header("content-type", content_type)
    with urllib.request.urlopen(request, timeout=900) as response:
        return response.read()


TYPES = {"json": "application/json", "csv": "text/csv",
         "arrow": "application/vnd.apache.arrow.stream", "parquet": "application/vnd.apache.parquet"}


def main():
    one = write_formats(events(1_000_000, 11), "activity_1m_quarters")
    ten = write_formats(events(10_000_000, 12), "activity_10m_quarters", ("csv", "parquet"))
    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "body_bench", "--bin", "retention-kpi"], cwd=ROOT, check=True)
    out = subprocess.run([os.path.join(ROOT, "target/release/examples/body_bench"),
                          one["json"], one["csv"], one["arrow"], one["parquet"], "5"],
                         check=True, capture_output=True, text=True).stdout
    inproc = {json.loads(line)["format"]: json.loads(line) for line in out.strip().splitlines()}

    env = dict(os.environ, PORT=str(PORT), HOST="127.0.0.1", BODY_LIMIT=str(1536 * 1024 * 1024),
               MEMORY_BUDGET_BYTES=str(12 * 1024 ** 3), MAX_EVENTS="20000000",
               REQUEST_TIMEOUT_MS="900000", RUST_LOG="warn")
    server = subprocess.Popen([os.path.join(ROOT, "target/release/retention-kpi")], env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        whole = {}
        answers = set()
        for f in ["json", "csv", "arrow", "parquet"]:
            body = open(one[f], "rb").read()
            path = "/cohorts" if f == "json" else "/cohorts?period=month"
            whole[f], answer = timed(lambda: http("POST", path, body, TYPES[f]), 3)
            answers.add(answer)
        assert len(answers) == 1, "the formats answered differently over HTTP"

        # 10,000,000 events: raw requests against DuckDB's reduction and the summary.
        raw = {}
        raw_answers = set()
        for f, repeats in [("parquet", 3), ("csv", 1)]:
            body = open(ten[f], "rb").read()
            raw[f], answer = timed(lambda: http("POST", "/cohorts?period=month", body, TYPES[f]), repeats)
            raw_answers.add(answer)
            del body
        query = json.loads(http("GET", "/sql/cohorts?dialect=duckdb&period=month"))
        con = duckdb.connect()
        con.execute("SET threads TO 2")
        load_s, _ = timed(lambda: con.execute(f"CREATE OR REPLACE TABLE events AS SELECT * FROM read_parquet('{ten['parquet']}')"), 1)
        reduce_s, result = timed(lambda: con.execute(query["sql"]), 3)
        cur = con.execute(query["sql"])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, (v.isoformat() if hasattr(v, "isoformat") else v for v in r))) for r in cur.fetchall()]
        summary = json.dumps({query["body_field"]: rows, **query["request_fields"]}).encode()
        post_s, summary_answer = timed(lambda: http("POST", "/cohorts", summary, "application/json"), 3)
        equal = summary_answer in raw_answers and len(raw_answers) == 1
        assert equal, "the summary answered differently from the raw events"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    mb = lambda f, paths: os.path.getsize(paths[f]) / 1e6  # noqa: E731
    j = inproc["json"]

    def ratio(x, base):
        return f"{x / base:.2f}×"

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_scaling.sh` on this machine ({os.cpu_count()} cores), "
        f"DuckDB {duckdb.__version__} (2 threads), pyarrow {pa.__version__}, Python {platform.python_version()}. "
        "`/cohorts?period=month` on activity events (customer_id, date, amount in quarter units; 3 years; a customer per 5 events).",
        "",
        "**1,000,000 events, one body in four formats** (in-process: `examples/body_bench.rs`, medians of 5; "
        "whole request: release server on loopback, medians of 3; the four answers checked equal):",
        "",
        "| format | body | parse (body to rows) | parse time / JSON's | compute | whole HTTP request |",
        "|---|---|---|---|---|---|",
    ]
    for f, label in [("json", "JSON"), ("csv", "CSV"), ("arrow", "Arrow IPC stream"), ("parquet", "Parquet (snappy)")]:
        r = inproc[f]
        lines.append(f"| {label} | {mb(f, one):.1f} MB | {r['parse_median_s'] * 1000:.0f} ms | "
                     f"{'baseline' if f == 'json' else ratio(r['parse_median_s'], j['parse_median_s'])} | "
                     f"{r['compute_median_s'] * 1000:.0f} ms | {whole[f] * 1000:.0f} ms |")
    total_reduce = reduce_s + post_s
    lines += [
        "",
        f"**10,000,000 events: the raw request against the reduction where the data are** (raw Parquet median of 3, raw CSV one run; "
        f"the query of `GET /sql/cohorts?dialect=duckdb` on the events loaded in DuckDB, median of 3, then the summary request, median of 3; "
        f"the summary's answer checked equal to the raw answers byte for byte: {'yes' if equal else 'NO'}):",
        "",
        "| path | time | time / the raw Parquet request's |",
        "|---|---|---|",
        f"| raw events as CSV ({mb('csv', ten):.0f} MB body) | {raw['csv']:.2f} s | {ratio(raw['csv'], raw['parquet'])} |",
        f"| raw events as Parquet ({mb('parquet', ten):.0f} MB body) | {raw['parquet']:.2f} s | baseline |",
        f"| DuckDB reduction ({reduce_s:.2f} s, {len(rows):,} cells) + summary request ({post_s * 1000:.0f} ms, {len(summary) / 1e3:.0f} kB) | {total_reduce:.2f} s | {ratio(total_reduce, raw['parquet'])} |",
        "",
        f"Loading the Parquet file into DuckDB took {load_s:.2f} s more (once; a warehouse holds the table already). "
        "The server ran with `MAX_EVENTS=20000000`, `BODY_LIMIT` 1.5 GiB and `MEMORY_BUDGET_BYTES` 12 GiB for the raw requests; "
        "the summary fits the defaults. The load generator and DuckDB share the 2 cores with the server.",
    ]
    write_section("scaling-benchmark", "Column-batch bodies and the reduction path: 1,000,000 and 10,000,000 events", lines)


if __name__ == "__main__":
    main()
