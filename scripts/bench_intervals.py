"""What the prediction intervals cost: each model endpoint on the CDNOW sample (2,357
customers) with its delta-method intervals and without (`intervals: false`), medians of 9
requests each against one release server in the same run, and their ratio. Writes the
"intervals" section of BENCHMARKS.md. Run from the repository root after
`cargo build --release`: python3 scripts/bench_intervals.py
"""
import json
import statistics
import subprocess
import time
import urllib.request

from benchmarks_md import write_section

PORT = 18081
NONE = {"method": "none"}
server = subprocess.Popen(
    ["./target/release/retention-kpi", "--port", str(PORT)],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    rows = [line.split(",") for line in open("tests/fixtures/cdnow_sample_summary.csv").read().splitlines()[1:]]
    customers = [
        {"id": r[0], "frequency": float(r[1]), "recency": float(r[2]), "T": float(r[3]), "monetary_value": float(r[4])}
        for r in rows
    ]

    def median_seconds(path, body, n=9):
        data = json.dumps(body).encode()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data, {"content-type": "application/json"})
            urllib.request.urlopen(request).read()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    lines = [
        "`python3 scripts/bench_intervals.py` (CDNOW sample, 2,357 customers; median of 9 requests each, 3 for the bootstrap, one release server, same run):",
        "",
        "| request | with intervals | without | ratio |",
        "|---|---|---|---|",
    ]
    cases = [
        ("/models/bgnbd", "delta", {"predict": {"horizon": 39}}, {"predict": {"horizon": 39, "uncertainty": NONE}}),
        ("/models/pareto-nbd", "delta", {"predict": {"horizon": 39}}, {"predict": {"horizon": 39, "uncertainty": NONE}}),
        ("/models/gamma-gamma", "delta", {}, {"uncertainty": NONE}),
        ("/models/clv", "delta", {"horizon": 52, "period_length": 4.345}, {"horizon": 52, "period_length": 4.345, "uncertainty": NONE}),
        ("/models/bgnbd", "bootstrap, 200 draws", {"predict": {"horizon": 39, "uncertainty": {"method": "bootstrap", "draws": 200}}}, {"predict": {"horizon": 39, "uncertainty": NONE}}),
    ]
    for path, method, with_, without in cases:
        n = 3 if "bootstrap" in method else 9
        a = median_seconds(path, {"customers": customers, **with_}, n)
        b = median_seconds(path, {"customers": customers, **without}, n)
        lines.append(f"| `{path}` ({method}) | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {a / b:.2f}× |")
    lines += [
        "",
        "The intervals take 2k evaluations of each prediction (k = 4 parameters; 7 for CLV, over",
        "12 monthly periods per customer here); the bootstrap a refit and the predictions per draw.",
        "`/models/clv` pays most of the delta methods; `uncertainty: {\"method\": \"none\"}` skips them.",
    ]
    write_section("intervals", "Prediction intervals: what the delta method costs", lines)
finally:
    server.terminate()
    server.wait()
