"""/series and /cohorts on 1,000,000 events: this service against DuckDB, same data, same run.

Generates (seeded) 1,000,000 subscription MRR events over 36 months and 1,000,000 activity
events, then times:
- ours: the release build of examples/records_bench.rs (CSV parse, and compute including JSON
  serialisation, separately), and the whole HTTP request to a release server started here with
  BODY_LIMIT raised to fit the body;
- DuckDB: the same aggregation in SQL over the same CSV files (read_csv included, and with the
  table already loaded), checking that its per-period counts equal ours.
Writes the figures into BENCHMARKS.md between the records-benchmark markers.
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
import pandas as pd

from benchmarks_md import timed, write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
os.makedirs(WORK, exist_ok=True)
N = 1_000_000
PORT = int(os.environ.get("BENCH_PORT", "18080"))
START = np.datetime64("2024-01-01")
DAYS = 365 * 3  # 36 months


def generate():
    rng = np.random.default_rng(7)
    series_path = os.path.join(WORK, "series_1m.csv")
    if not os.path.exists(series_path):
        customers = rng.integers(0, 80_000, N * 11 // 10)
        days = rng.integers(0, DAYS, customers.size)
        df = pd.DataFrame({"customer_id": customers, "day": days}).drop_duplicates().head(N)
        mrr = rng.integers(1, 50, len(df)) * 10.0
        mrr[rng.random(len(df)) < 0.15] = 0.0
        df["date"] = (START + df["day"].to_numpy().astype("timedelta64[D]")).astype(str)
        df["customer_id"] = "c" + df["customer_id"].astype(str)
        df["mrr"] = mrr
        df[["customer_id", "date", "mrr"]].to_csv(series_path, index=False)
    cohorts_path = os.path.join(WORK, "activity_1m.csv")
    if not os.path.exists(cohorts_path):
        customers = rng.integers(0, 200_000, N)
        days = rng.integers(0, DAYS, N)
        df = pd.DataFrame({
            "customer_id": "u" + pd.Series(customers).astype(str),
            "date": (START + days.astype("timedelta64[D]")).astype(str),
            "amount": np.round(rng.gamma(2.0, 20.0, N), 2),
        })
        df.to_csv(cohorts_path, index=False)
    return series_path, cohorts_path


SERIES_SQL = """
WITH ev AS (SELECT customer_id, CAST(date AS DATE) AS d, mrr FROM {src}),
bounds AS (SELECT date_trunc('month', min(d)) AS lo, date_trunc('month', max(d)) AS hi FROM ev),
months AS (SELECT CAST(m AS DATE) AS start, CAST(m + INTERVAL 1 MONTH AS DATE) AS next
           FROM bounds, generate_series(lo, hi, INTERVAL 1 MONTH) AS g(m)),
grid AS (SELECT c.customer_id, m.start, m.next FROM (SELECT DISTINCT customer_id FROM ev) c CROSS JOIN months m),
at_end AS (SELECT g.customer_id, g.start, coalesce(e.mrr, 0) AS end_mrr
           FROM grid g ASOF LEFT JOIN ev e ON g.customer_id = e.customer_id AND g.next > e.d),
first_paid AS (SELECT customer_id, min(d) AS first_d FROM ev WHERE mrr > 0 GROUP BY customer_id),
states AS (SELECT a.customer_id, a.start, a.end_mrr,
                  coalesce(lag(a.end_mrr) OVER w, 0) AS start_mrr,
                  coalesce(f.first_d < a.start, false) AS was_customer
           FROM at_end a LEFT JOIN first_paid f USING (customer_id)
           WINDOW w AS (PARTITION BY a.customer_id ORDER BY a.start))
SELECT start,
  count(*) FILTER (WHERE start_mrr > 0) AS start_customers,
  count(*) FILTER (WHERE start_mrr = 0 AND end_mrr > 0 AND NOT was_customer) AS new_customers,
  count(*) FILTER (WHERE start_mrr = 0 AND end_mrr > 0 AND was_customer) AS reactivated_customers,
  count(*) FILTER (WHERE start_mrr > 0 AND end_mrr > 0) AS retained_customers,
  count(*) FILTER (WHERE start_mrr > 0 AND end_mrr = 0) AS churned_customers,
  count(*) FILTER (WHERE end_mrr > 0) AS end_customers,
  sum(start_mrr) AS start_mrr, sum(end_mrr) AS end_mrr,
  sum(CASE WHEN start_mrr = 0 AND end_mrr > 0 AND NOT was_customer THEN end_mrr ELSE 0 END) AS new_mrr,
  sum(CASE WHEN start_mrr > 0 AND end_mrr > start_mrr THEN end_mrr - start_mrr ELSE 0 END) AS expansion_mrr,
  sum(CASE WHEN start_mrr > 0 AND end_mrr > 0 AND end_mrr < start_mrr THEN start_mrr - end_mrr ELSE 0 END) AS contraction_mrr,
  sum(CASE WHEN start_mrr > 0 AND end_mrr = 0 THEN start_mrr ELSE 0 END) AS churned_mrr,
  sum(CASE WHEN start_mrr = 0 AND end_mrr > 0 AND was_customer THEN end_mrr ELSE 0 END) AS reactivation_mrr
FROM states GROUP BY start ORDER BY start
"""

COHORTS_SQL = """
WITH ev AS (SELECT customer_id, CAST(date AS DATE) AS d, amount FROM {src}),
firsts AS (SELECT customer_id, date_trunc('month', min(d)) AS cohort FROM ev GROUP BY customer_id),
active AS (SELECT DISTINCT e.customer_id, f.cohort, datediff('month', f.cohort, date_trunc('month', e.d)) AS k
           FROM ev e JOIN firsts f USING (customer_id))
SELECT cohort, k, count(*) AS customers FROM active GROUP BY cohort, k ORDER BY cohort, k
"""


def http_post(path, body, content_type):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=body, headers={"content-type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def main():
    series_path, cohorts_path = generate()
    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "records_bench", "--bin", "retention-kpi"], cwd=ROOT, check=True)
    out = subprocess.run([os.path.join(ROOT, "target/release/examples/records_bench"), series_path, cohorts_path, "5"], check=True, capture_output=True, text=True).stdout
    ours = {json.loads(line)["endpoint"]: json.loads(line) for line in out.strip().splitlines()}

    # The whole HTTP request against a release server with a body limit that fits.
    env = dict(os.environ, PORT=str(PORT), HOST="127.0.0.1", BODY_LIMIT=str(256 * 1024 * 1024), MEMORY_BUDGET_BYTES=str(2048 * 1024 * 1024), RUST_LOG="warn")
    server = subprocess.Popen([os.path.join(ROOT, "target/release/retention-kpi")], env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        series_body, cohorts_body = open(series_path, "rb").read(), open(cohorts_path, "rb").read()
        http_series_s, http_series = timed(lambda: http_post("/series?period=month", series_body, "text/csv"), 3)
        http_cohorts_s, http_cohorts = timed(lambda: http_post("/cohorts?period=month", cohorts_body, "text/csv"), 3)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    duck_series_csv_s, duck_series = timed(lambda: con.execute(SERIES_SQL.format(src=f"read_csv('{series_path}')")).fetchall(), 3)
    duck_cohorts_csv_s, _ = timed(lambda: con.execute(COHORTS_SQL.format(src=f"read_csv('{cohorts_path}')")).fetchall(), 3)
    con.execute(f"CREATE TABLE s AS SELECT * FROM read_csv('{series_path}')")
    con.execute(f"CREATE TABLE a AS SELECT * FROM read_csv('{cohorts_path}')")
    duck_series_s, _ = timed(lambda: con.execute(SERIES_SQL.format(src="s")).fetchall(), 3)
    duck_cohorts_s, duck_cohorts = timed(lambda: con.execute(COHORTS_SQL.format(src="a")).fetchall(), 3)
    # The same table with the customers already numbered, as ours are after reading: the
    # query then groups integers, not strings.
    con.execute("CREATE TABLE ai AS SELECT CAST(dense_rank() OVER (ORDER BY customer_id) AS INTEGER) AS customer_id, date, amount FROM a")
    duck_cohorts_int_s, duck_cohorts_int = timed(lambda: con.execute(COHORTS_SQL.format(src="ai")).fetchall(), 3)
    assert duck_cohorts_int == duck_cohorts

    # Every cohort's count at every offset equal to ours (DuckDB has no row for a zero).
    cells = {(str(c)[:7], k): n for c, k, n in duck_cohorts}
    for cohort in http_cohorts["cohorts"]:
        for k, count in enumerate(cohort["counts"]):
            assert cells.pop((cohort["cohort"], k), 0) == count, (cohort["cohort"], k)
    assert not cells, cells

    # Both computed the same thing: per-period customer counts must agree.
    names = ["start_customers", "new_customers", "reactivated_customers", "retained_customers", "churned_customers", "end_customers"]
    for ours_row, duck_row in zip(http_series["periods"], duck_series):
        for i, name in enumerate(names):
            assert ours_row[name] == duck_row[i + 1], (ours_row["period"], name, ours_row[name], duck_row[i + 1])
    assert len(http_series["periods"]) == len(duck_series)

    s, c = ours["/series"], ours["/cohorts"]

    def versus(duck, mine):
        return f"{duck / mine:.1f}× faster" if duck >= mine else f"{mine / duck:.1f}× slower"

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_records.sh` on this machine ({os.cpu_count()} cores); "
        f"DuckDB {duckdb.__version__} with 2 threads, Python {platform.python_version()}. 1,000,000 events each "
        f"({s['periods']} months of MRR events for 80,000 customers; activity of 200,000 customers). Medians of 5 runs (ours) "
        "and 3 runs (DuckDB, HTTP). DuckDB's answers were checked equal to ours in the same run (below).",
        "",
        "| endpoint | retention-kpi compute | retention-kpi CSV parse | whole HTTP request (CSV body, loopback) | DuckDB, table loaded | DuckDB incl. read_csv | retention-kpi compute against DuckDB (loaded) | from the CSV file: parse + compute against DuckDB incl. read_csv |",
        "|---|---|---|---|---|---|---|---|",
        f"| `/series?period=month` | {s['compute_median_s'] * 1000:.0f} ms | {s['parse_median_s'] * 1000:.0f} ms | {http_series_s * 1000:.0f} ms | {duck_series_s * 1000:.0f} ms | {duck_series_csv_s * 1000:.0f} ms | {versus(duck_series_s, s['compute_median_s'])} | {versus(duck_series_csv_s, s['compute_median_s'] + s['parse_median_s'])} |",
        f"| `/cohorts?period=month` | {c['compute_median_s'] * 1000:.0f} ms | {c['parse_median_s'] * 1000:.0f} ms | {http_cohorts_s * 1000:.0f} ms | {duck_cohorts_s * 1000:.0f} ms | {duck_cohorts_csv_s * 1000:.0f} ms | {versus(duck_cohorts_s, c['compute_median_s'])} | {versus(duck_cohorts_csv_s, c['compute_median_s'] + c['parse_median_s'])} |",
        "",
        f"With the customers numbered in the loaded table too (integer ids, as ours are after reading), DuckDB computes the cohort table in "
        f"{duck_cohorts_int_s * 1000:.0f} ms: ours is {versus(duck_cohorts_int_s, c['compute_median_s'])}. Every cohort's count at every "
        "offset was checked equal to ours, and DuckDB's series' per-period customer counts likewise.",
        "",
        "The parse is what the service does with a CSV body before computing: `/series` reads typed rows; `/cohorts` reads the rows "
        "straight into activities, numbering each customer id as it comes (that hashing is in the parse column, not the compute one, "
        "so read the last column too: it compares the whole work from the file). DuckDB reads the CSV with 2 threads; a request is "
        "read on one. Compute includes serialising the answer to JSON; the HTTP figure is the whole request (body upload over loopback, CSV parse, compute, answer) "
        "to the release binary started with `BODY_LIMIT=268435456` and `MEMORY_BUDGET_BYTES=2147483648` (the defaults refuse such a body with 413). The load generator shares the 2 cores.",
    ]
    write_section("records-benchmark", "/series and /cohorts on 1,000,000 events: retention-kpi against DuckDB", lines)


if __name__ == "__main__":
    main()
