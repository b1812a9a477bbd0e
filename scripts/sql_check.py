#!/usr/bin/env python3
"""Reduction SQL against real engines: the summary a query computes answers as the raw rows do.

For each reduction (survival, cohorts, series, rfm) and several settings, generates raw rows
(leap days, ISO weeks across a year's end, same-day duplicates, customers with one event,
churns with reasons, late entry), asks the running service for the query (GET /sql/...),
runs it in each engine, posts the result, and compares the answer with the raw rows' answer
byte for byte. The rows' column names must be the contract the service states.

Engines: DuckDB (always), PostgreSQL (--pg URI), Spark SQL in local mode (--spark), and the
BigQuery and Snowflake dialects transpiled by sqlglot to DuckDB and run there (syntax checked
by a parser that knows them; their date functions checked by what DuckDB computes).

Amounts are whole or quarter units, so sums are exact in binary floating point whatever the
engine's order of addition: equality to the last bit is then a fair demand.

Usage: sql_check.py --base URL [--pg URI] [--spark] [--write-fixture PATH]

--write-fixture writes the DuckDB summaries with the raw bodies and the queries they came
from (tests/fixtures/sql_summaries.json), which tests/summaries.rs replays offline.
"""

import argparse
import csv
import datetime as dt
import decimal
import hashlib
import io
import json
import random
import sys
import time
import urllib.parse
import urllib.request

import duckdb
import sqlglot

D = dt.date


def http(base, method, path, body=None, content_type="application/json"):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ---------------------------------------------------------------- data


def quarter_amount(rng, lo, hi):
    return rng.randint(lo * 4, hi * 4) / 4


def activities(rng):
    """(customer_id, date, amount or None)."""
    rows = []
    start = D(2023, 11, 20)
    for c in range(260):
        cid = f"c{c:03d}"
        first = start + dt.timedelta(days=rng.randint(0, 700))
        n = rng.choice([1, 1, 2, 3, 5, 8])
        for _ in range(n):
            day = first + dt.timedelta(days=int(rng.expovariate(1 / 90)) if _ else 0)
            amount = None if rng.random() < 0.1 else quarter_amount(rng, 0, 200)
            rows.append((cid, day, amount))
        if rng.random() < 0.15:  # a duplicate event
            rows.append(rows[-1])
    # Leap day and the turn of an ISO year (2024-12-30 is a Monday of week 2025-W01).
    rows += [("leap", D(2024, 2, 29), 10.0), ("leap", D(2024, 3, 1), 2.5)]
    rows += [("turn", D(2024, 12, 29), 1.0), ("turn", D(2024, 12, 30), 1.0), ("turn", D(2025, 1, 5), 3.0)]
    rows += [("once", D(2025, 6, 30), None)]
    rng.shuffle(rows)
    return rows


def mrr_events(rng):
    """(customer_id, date, mrr, reason or None, sequence), in body order (sequence ascending)."""
    rows = []
    seq = 0
    for c in range(220):
        cid = f"s{c:03d}"
        day = D(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 500))
        mrr = 0.0
        for _ in range(rng.choice([1, 2, 3, 4, 6])):
            r = rng.random()
            if mrr > 0 and r < 0.3:
                new, reason = 0.0, rng.choice(["voluntary", "delinquent", None])
            elif mrr > 0 and r < 0.4:
                new, reason = mrr, None  # no change
            else:
                new, reason = quarter_amount(rng, 5, 300), None
            seq += 1
            rows.append([cid, day, new, reason, seq])
            if rng.random() < 0.1:  # a second event the same day: the later sequence wins
                seq += 1
                rows.append([cid, day, quarter_amount(rng, 0, 300), None, seq])
                if rows[-1][2] == 0.0:
                    rows[-1][2] = 1.0
            mrr = rows[-1][2]
            day = day + dt.timedelta(days=rng.randint(1, 120))
    rows.append(["leap", D(2024, 2, 29), 40.0, None, seq + 1])
    rows.append(["leap", D(2024, 3, 1), 0.0, "voluntary", seq + 2])
    rows.append(["never", D(2024, 5, 5), 0.0, None, seq + 3])  # never pays
    return [tuple(r) for r in rows]


def subscriptions(rng, as_of, observed_from):
    """(start, end or None, group)."""
    rows = []
    for _ in range(400):
        start = as_of - dt.timedelta(days=rng.randint(0, 900))
        end = None
        if rng.random() < 0.6:
            end = start + dt.timedelta(days=int(rng.expovariate(1 / 200)))
            if end > as_of + dt.timedelta(days=60):
                end = None
        if observed_from and start < observed_from and end is not None and end <= observed_from:
            continue  # the raw endpoint refuses what data beginning later cannot hold
        rows.append((start, end, rng.choice(["annual", "monthly", "trial"])))
    rows.append((as_of, None, "trial"))  # starts on as_of: duration 0, censored
    return rows


def transactions(rng):
    """The CDNOW sample's transactions (tests/fixtures), amounts rounded to quarter units."""
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "cdnow_sample_transactions.csv")
    with open(path) as f:
        return [(r["customer_id"], D.fromisoformat(r["date"]), round(float(r["amount"]) * 4) / 4)
                for r in csv.DictReader(f)]


# ---------------------------------------------------------------- engines

SCHEMAS = {
    "events_cohorts": [("customer_id", "text"), ("date", "date"), ("amount", "double")],
    "events_series": [("customer_id", "text"), ("date", "date"), ("mrr", "double"), ("reason", "text"), ("seq", "bigint")],
    "events_series_plain": [("customer_id", "text"), ("date", "date"), ("mrr", "double"), ("reason", "text"), ("seq", "bigint")],
    "subscriptions": [("start", "date"), ("end", "date"), ("plan", "text")],
    "transactions": [("customer_id", "text"), ("date", "date"), ("amount", "double")],
}


def plain(v):
    if isinstance(v, (dt.datetime,)):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


class DuckEngine:
    name = "duckdb"

    def __init__(self):
        self.con = duckdb.connect()

    def load(self, table, schema, rows):
        types = {"text": "VARCHAR", "date": "DATE", "double": "DOUBLE", "bigint": "BIGINT"}
        cols = ", ".join(f'"{c}" {types[t]}' for c, t in schema)
        self.con.execute(f'CREATE OR REPLACE TABLE "{table}" ({cols})')
        if rows:
            marks = ", ".join("?" for _ in schema)
            self.con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', [list(r) for r in rows])

    def run(self, sql):
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        return names, [[plain(v) for v in row] for row in cur.fetchall()]


class TranspiledEngine(DuckEngine):
    """BigQuery or Snowflake SQL, parsed by sqlglot and run in DuckDB."""

    def __init__(self, dialect, duck):
        self.name = f"{dialect}->duckdb"
        self.dialect = dialect
        self.con = duck.con

    def load(self, table, schema, rows):
        pass  # shares DuckDB's tables

    def run(self, sql):
        [translated] = sqlglot.transpile(sql, read=self.dialect, write="duckdb")
        return super().run(translated)


class PgEngine:
    name = "postgres"

    def __init__(self, uri):
        import psycopg

        self.con = psycopg.connect(uri, autocommit=True)

    def load(self, table, schema, rows):
        types = {"text": "TEXT", "date": "DATE", "double": "DOUBLE PRECISION", "bigint": "BIGINT"}
        cols = ", ".join(f'"{c}" {types[t]}' for c, t in schema)
        with self.con.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{table}"')
            cur.execute(f'CREATE TABLE "{table}" ({cols})')
            names = ", ".join(f'"{c}"' for c, _ in schema)
            with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for r in rows:
                    copy.write_row(list(r))

    def run(self, sql):
        with self.con.cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description]
            return names, [[plain(v) for v in row] for row in cur.fetchall()]


class SparkEngine:
    name = "spark"

    def __init__(self):
        import os

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        self.spark = (
            SparkSession.builder.master("local[1]")
            .appName("retention-kpi sql check")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def load(self, table, schema, rows):
        types = {"text": "STRING", "date": "DATE", "double": "DOUBLE", "bigint": "BIGINT"}
        ddl = ", ".join(f"`{c}` {types[t]}" for c, t in schema)
        self.spark.createDataFrame([tuple(r) for r in rows], ddl).createOrReplaceTempView(table)

    def run(self, sql):
        df = self.spark.sql(sql)
        names = df.columns
        return names, [[plain(v) for v in row] for row in df.collect()]

    def close(self):
        self.spark.stop()


# ---------------------------------------------------------------- cases


def cases(rng):
    """(label, table loads, reduction, query parameters, raw body and endpoint, summary body)."""
    acts = activities(rng)
    events = mrr_events(rng)
    as_of, observed_from = D(2026, 3, 31), D(2025, 1, 1)
    subs_plain = subscriptions(rng, as_of, None)
    subs_late = subscriptions(rng, as_of, observed_from)
    txs = transactions(rng)
    out = []
    cohort_body = [
        {"customer_id": c, "date": d.isoformat(), **({} if a is None else {"amount": a})}
        for c, d, a in acts
    ]
    for period in ["week", "month", "quarter"]:
        for retention in ["bounded", "unbounded"]:
            out.append(dict(
                label=f"cohorts period={period} retention={retention}",
                tables={"events_cohorts": acts},
                reduction="cohorts",
                params={"period": period, "table": "events_cohorts"},
                endpoint="/cohorts",
                raw={"events": cohort_body, "period": period, "retention": retention},
                extra={"retention": retention},
                parquet_select="SELECT customer_id, date, amount FROM events_cohorts",
            ))
    ordered = sorted(events, key=lambda e: e[4])
    series_body = [
        {"customer_id": c, "date": d.isoformat(), "mrr": m, **({"reason": r} if r else {})}
        for c, d, m, r, _ in ordered
    ]
    for period in ["week", "month", "quarter", "year"]:
        out.append(dict(
            label=f"series period={period}",
            tables={"events_series": events},
            reduction="series",
            params={"period": period, "table": "events_series", "reason": "reason", "sequence": "seq"},
            endpoint="/series",
            raw={"events": series_body, "period": period},
            extra={},
            parquet_select="SELECT customer_id, date, mrr, reason FROM events_series ORDER BY seq",
        ))
    no_reasons = [(c, d, m, None, q) for c, d, m, _, q in events]
    out.append(dict(
        label="series period=month, a reason column with no reason in it",
        tables={"events_series_plain": no_reasons},
        reduction="series",
        params={"period": "month", "table": "events_series_plain", "reason": "reason", "sequence": "seq"},
        endpoint="/series",
        raw={"events": [{k: v for k, v in e.items() if k != "reason"} for e in series_body], "period": "month"},
        extra={},
    ))
    out.append(dict(
        label="series period=month from/to inside the data",
        tables={"events_series": events},
        reduction="series",
        params={"period": "month", "table": "events_series", "reason": "reason", "sequence": "seq"},
        endpoint="/series",
        raw={"events": series_body, "period": "month", "from": "2024-06-01", "to": "2025-03-31"},
        extra={"from": "2024-06-01", "to": "2025-03-31"},
    ))
    for unit in ["day", "week", "month"]:
        out.append(dict(
            label=f"survival unit={unit} groups",
            tables={"subscriptions": subs_plain},
            reduction="survival",
            params={"as_of": as_of.isoformat(), "unit": unit, "group": "plan"},
            endpoint="/survival",
            raw={"subscriptions": [{"start": s.isoformat(), "end": e and e.isoformat(), "group": g} for s, e, g in subs_plain],
                 "as_of": as_of.isoformat(), "unit": unit},
            extra={},
            parquet_select='SELECT start, "end", plan AS "group" FROM subscriptions',
        ))
    out.append(dict(
        label="survival late entry (observed_from), no groups",
        tables={"subscriptions": subs_late},
        reduction="survival",
        params={"as_of": as_of.isoformat(), "observed_from": observed_from.isoformat(), "unit": "week"},
        endpoint="/survival",
        raw={"subscriptions": [{"start": s.isoformat(), "end": e and e.isoformat()} for s, e, _ in subs_late],
             "as_of": as_of.isoformat(), "observed_from": observed_from.isoformat(), "unit": "week"},
        extra={},
    ))
    tx_body = [{"customer_id": c, "date": d.isoformat(), "amount": a} for c, d, a in txs]
    out.append(dict(
        label="rfm per customer, BG/NBD fit and predictions",
        tables={"transactions": txs},
        reduction="rfm",
        params={"calibration_end": "1997-09-30", "unit": "week"},
        endpoint="/models/bgnbd",
        raw={"transactions": tx_body, "calibration_end": "1997-09-30", "unit": "week", "predict": {"horizon": 12}},
        extra={"predict": {"horizon": 12}},
    ))
    out.append(dict(
        label="rfm per customer, Gamma-Gamma spend",
        tables={"transactions": txs},
        reduction="rfm",
        params={"calibration_end": "1997-09-30", "unit": "month"},
        endpoint="/models/gamma-gamma",
        raw={"transactions": tx_body, "calibration_end": "1997-09-30", "unit": "month"},
        extra={},
        no_fixture=True,
    ))
    out.append(dict(
        label="rfm grouped (frequency, recency, T, count), BG/NBD fit",
        tables={"transactions": txs},
        reduction="rfm",
        params={"calibration_end": "1997-09-30", "unit": "week", "grouped": "true"},
        endpoint="/models/bgnbd",
        raw={"transactions": tx_body, "calibration_end": "1997-09-30", "unit": "week"},
        extra={},
        tolerance=1e-6,
        no_fixture=True,
    ))
    return out


def summary_body(case, query, names, rows):
    field = query["body_field"]
    records = [dict(zip(names, r)) for r in rows]
    if case["reduction"] == "rfm" and "id" in names:
        records.sort(key=lambda r: r["id"])  # the raw path's order: by id
    body = {field: records, **query["request_fields"], **case["extra"]}
    return body


def close_enough(a, b, tol, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys differ"
        for k in a:
            bad = close_enough(a[k], b[k], tol, f"{path}.{k}")
            if bad:
                return bad
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} and {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            bad = close_enough(x, y, tol, f"{path}[{i}]")
            if bad:
                return bad
        return None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if abs(a - b) <= tol * max(1.0, abs(a), abs(b)):
            return None
        return f"{path}: {a} and {b}"
    return None if a == b else f"{path}: {a!r} and {b!r}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--pg")
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--write-fixture")
    ap.add_argument("--parquet-dir", help="also post the raw rows as Parquet files DuckDB writes here")
    args = ap.parse_args()

    rng = random.Random(20261206)
    duck = DuckEngine()
    engines = [duck, TranspiledEngine("bigquery", duck), TranspiledEngine("snowflake", duck)]
    if args.pg:
        engines.append(PgEngine(args.pg))
    if args.spark:
        t = time.time()
        engines.append(SparkEngine())
        print(f"spark session started in {time.time() - t:.1f} s", flush=True)
    dialect_of = {"duckdb": "duckdb", "bigquery->duckdb": "bigquery", "snowflake->duckdb": "snowflake",
                  "postgres": "postgres", "spark": "spark"}
    failures = 0
    checks = 0
    fixture = []
    bodies = {}
    loaded = {}
    for case in cases(rng):
        status, raw_answer = http(args.base, "POST", case["endpoint"], case["raw"])
        if status != 200:
            print(f"FAIL {case['label']}: the raw body answered {status}: {raw_answer[:300]!r}")
            failures += 1
            continue
        for engine in engines:
            for table, rows in case["tables"].items():
                if loaded.get((engine.name, table)) is not rows:
                    engine.load(table, SCHEMAS[table], rows)
                    loaded[(engine.name, table)] = rows
            params = dict(case["params"], dialect=dialect_of[engine.name])
            status, body = http(args.base, "GET", f"/sql/{case['reduction']}?" + urllib.parse.urlencode(params))
            if status != 200:
                print(f"FAIL {case['label']} [{engine.name}]: GET /sql answered {status}: {body[:300]!r}")
                failures += 1
                continue
            query = json.loads(body)
            t = time.time()
            try:
                names, rows = engine.run(query["sql"])
            except Exception as e:  # noqa: BLE001 - report and go on
                print(f"FAIL {case['label']} [{engine.name}]: the query failed: {e}")
                failures += 1
                continue
            took = time.time() - t
            contract = [c["name"] for c in query["columns"]]
            names_ok = names == contract[: len(names)] and (len(names) == len(contract) or case["reduction"] == "series")
            summary = summary_body(case, query, names, rows)
            status, answer = http(args.base, "POST", case["endpoint"], summary)
            checks += 1
            tol = case.get("tolerance")
            if status != 200:
                verdict = f"answered {status}: {answer[:300]!r}"
            elif not names_ok:
                verdict = f"columns {names}, contract {contract}"
            elif tol is None:
                verdict = None if answer == raw_answer else "answers differ: " + str(
                    close_enough(json.loads(raw_answer), json.loads(answer), 0.0))
            else:
                verdict = close_enough(json.loads(raw_answer), json.loads(answer), tol)
            if verdict:
                failures += 1
                print(f"FAIL {case['label']} [{engine.name}]: {verdict}")
            else:
                how = "same bytes" if tol is None else f"equal within {tol:g}"
                print(f"ok   {case['label']} [{engine.name}]: {len(rows)} summary rows, {how} ({took * 1000:.0f} ms)")
            if engine.name == "duckdb" and args.write_fixture and not case.get("no_fixture"):
                # Raw row lists are stored once and named in the case ("$name").
                raw = {}
                for k, v in case["raw"].items():
                    if isinstance(v, list):
                        digest = hashlib.sha256(json.dumps(v).encode()).hexdigest()[:8]
                        key = f"{case['reduction']}_{k}_{len(v)}_{digest}"
                        bodies.setdefault(key, v)
                        v = "$" + key
                    raw[k] = v
                fixture.append({"label": case["label"], "reduction": case["reduction"],
                                "params": params, "sql": query["sql"], "endpoint": case["endpoint"],
                                "raw": raw, "summary": summary, "tolerance": tol})
        # The raw rows as DuckDB writes them to Parquet: the same answer as the JSON body.
        if case.get("parquet_select") and args.parquet_dir:
            path = f"{args.parquet_dir}/{case['reduction']}.parquet"
            duck.con.execute(f"COPY ({case['parquet_select']}) TO '{path}' (FORMAT parquet)")
            settings = {k: v for k, v in case["raw"].items() if not isinstance(v, list)}
            query = urllib.parse.urlencode(settings)
            status, answer = http(args.base, "POST", f"{case['endpoint']}?{query}",
                                  open(path, "rb").read(), "application/vnd.apache.parquet")
            checks += 1
            if status == 200 and answer == raw_answer:
                print(f"ok   {case['label']} [DuckDB's Parquet file]: same bytes as the JSON body")
            else:
                failures += 1
                print(f"FAIL {case['label']} [DuckDB's Parquet file]: {status} {answer[:300]!r}")
    if args.write_fixture:
        with open(args.write_fixture, "w") as f:
            json.dump({"generated_by": "scripts/sql_check.py --write-fixture (DuckDB's results)",
                       "duckdb": duckdb.__version__, "sqlglot": sqlglot.__version__,
                       "bodies": bodies, "cases": fixture}, f, separators=(",", ":"))
            f.write("\n")
    for e in engines:
        if hasattr(e, "close"):
            e.close()
    print(f"{checks - failures} of {checks} summaries answered as their raw rows")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
