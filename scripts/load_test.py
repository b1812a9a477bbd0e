"""Load test of the release binary on 127.0.0.1 with wrk; writes BENCHMARKS.md.

Phase 1: throughput and latency of /crr, /nps and a 20-item /kpis beside a bare GET /healthz,
same binary, same run, same wrk settings (2 threads, 32 connections, DURATION seconds each).
Phase 2: a server with CONCURRENCY_LIMIT=L on /models/sbg (a model fit per request), driven by
examples/overload.rs (a closed-loop generator that splits latency by status, which wrk cannot)
at L / 2 connections (unloaded), L (at the limit) and 2 × L (overload): answered (200) and
shed (503) counts and latencies, no other status, no socket error, and the server's resident
memory before, after, and at its peak (VmHWM).
"""
import json
import os
import re
import subprocess
import time
import urllib.request

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/retention-kpi")
LOAD = os.path.join(ROOT, "scripts/load")
DURATION = int(os.environ.get("DURATION", "10"))
LIMIT = int(os.environ.get("LOAD_CONCURRENCY_LIMIT", "16"))
WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
os.makedirs(WORK, exist_ok=True)

BODIES = {
    "crr": {"start_customers": 100, "new_customers": 20, "end_customers": 95},
    "nps": {"promoters": 200, "passives": 120, "detractors": 80},
    "kpis": {"items": [
        {"id": f"item{i}", "metric": m, **b}
        for i, (m, b) in enumerate([
            ("crr", {"start_customers": 100 + i, "new_customers": 20, "end_customers": 95}) if i % 4 == 0 else
            ("churn", {"start_customers": 1000, "lost_customers": 50 + i, "period": "month"}) if i % 4 == 1 else
            ("nps", {"promoters": 200, "passives": 120, "detractors": 80 + i}) if i % 4 == 2 else
            ("revenue_churn", {"start_mrr": 100000, "churned_mrr": 5000 + i, "expansion_mrr": 2000})
            for i in range(20)
        ])
    ]},
    "sbg": {"survivors": [1000, 631, 468, 382, 326, 289, 262, 241], "projection_periods": 5, "margin": 100},
}


def start(port, **env):
    e = dict(os.environ, PORT=str(port), HOST="127.0.0.1", RUST_LOG="warn", **{k: str(v) for k, v in env.items()})
    server = subprocess.Popen([BIN], env=e)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def wrk(url, connections, script, body=None, duration=DURATION):
    env = dict(os.environ)
    if body is not None:
        path = os.path.join(WORK, f"body_{abs(hash(json.dumps(body)))}.json")
        with open(path, "w") as f:
            json.dump(body, f)
        env["BODY_FILE"] = path
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", os.path.join(LOAD, script), url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    stats = json.loads(re.search(r"^STATS (.*)$", out, re.M).group(1))
    return stats


def memory_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    port = int(os.environ.get("LOAD_PORT", "18280"))
    server = start(port)
    try:
        base = f"http://127.0.0.1:{port}"
        wrk(base + "/healthz", 32, "get.lua", duration=2)  # warm-up
        health = wrk(base + "/healthz", 32, "get.lua")
        rows = [("GET /healthz (baseline)", health)]
        for name, path in [("crr", "/crr"), ("nps", "/nps"), ("kpis", "/kpis")]:
            stats = wrk(base + path, 32, "post.lua", BODIES[name])
            assert set(stats["statuses"]) == {"200"}, stats
            rows.append((f"POST {path}" + (" (20 items)" if name == "kpis" else ""), stats))
        peak_phase1 = memory_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)

    port2 = port + 1
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--example", "overload"], cwd=ROOT, check=True)
    body_path = os.path.join(WORK, "overload_sbg.json")
    with open(body_path, "w") as f:
        json.dump(BODIES["sbg"], f)

    def overload_run(connections, seconds=DURATION):
        out = subprocess.run(
            [os.path.join(ROOT, "target/release/examples/overload"), f"127.0.0.1:{port2}", "/models/sbg", body_path, str(connections), str(seconds)],
            capture_output=True, text=True, check=True,
        ).stdout
        return json.loads(out)

    server = start(port2, CONCURRENCY_LIMIT=LIMIT)
    try:
        overload_run(max(1, LIMIT // 2), 2)  # warm-up
        rss_before = memory_kb(server.pid, "VmRSS")
        runs = [(f"{max(1, LIMIT // 2)} (unloaded)", overload_run(max(1, LIMIT // 2))), (f"{LIMIT} (at the limit)", overload_run(LIMIT))]
        overload = overload_run(2 * LIMIT)
        runs.append((f"{2 * LIMIT} (2 × limit)", overload))
        rss_after = memory_kb(server.pid, "VmRSS")
        second = overload_run(2 * LIMIT)
        rss_after_second = memory_kb(server.pid, "VmRSS")
        peak = memory_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)

    def status(run, code, key):
        return run["statuses"].get(code, {}).get(key, 0)

    other = {code: v["count"] for run in (overload, second) for code, v in run["statuses"].items() if code not in ("200", "503")}
    lost = overload["socket_errors"] + second["socket_errors"]
    unloaded_p99 = status(runs[0][1], "200", "p99_ms")
    h = health["rps"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/load_test.sh`: the release binary on 127.0.0.1, wrk 4.1 with 2 threads, "
        f"{DURATION} s per row. **wrk runs on the same 2 cores as the server**, so every figure includes the load generator's own CPU use; "
        "read the ratios to `/healthz`, measured in the same run.",
        "",
        "| request (32 connections) | requests/s | vs /healthz | p50 | p99 | p99 vs /healthz |",
        "|---|---|---|---|---|---|",
    ]
    for name, st in rows:
        lines.append(f"| {name} | {st['rps']:,.0f} | {st['rps'] / h * 100:.0f} % | {st['p50_ms']:.2f} ms | {st['p99_ms']:.2f} ms | {st['p99_ms'] / health['p99_ms']:.2f}× |")
    lines += [
        "",
        f"Overload: `CONCURRENCY_LIMIT={LIMIT}`, `POST /models/sbg` (an sBG fit per request), {DURATION} s per row, driven by "
        "`examples/overload.rs` (closed loop, latency split by status), on the same 2 cores.",
        "",
        "| connections | answered 200 | 200 p50 | 200 p99 | 200 p99 vs unloaded | shed 503 | 503 p99 | 503 max | other statuses | socket errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs:
        others = sum(v["count"] for code, v in run["statuses"].items() if code not in ("200", "503"))
        lines.append(
            f"| {name} | {status(run, '200', 'count'):,} | {status(run, '200', 'p50_ms'):.2f} ms | {status(run, '200', 'p99_ms'):.2f} ms | "
            f"{status(run, '200', 'p99_ms') / unloaded_p99:.1f}× | {status(run, '503', 'count'):,} | {status(run, '503', 'p99_ms'):.2f} ms | "
            f"{status(run, '503', 'max_ms'):.1f} ms | {others} | {run['socket_errors']} |"
        )
    lines += [
        "",
        f"Resident memory {rss_before / 1024:.1f} MiB before the overload, {rss_after / 1024:.1f} MiB after it, {rss_after_second / 1024:.1f} MiB "
        f"after a second overload run ({status(second, '503', 'count'):,} shed); peak {peak / 1024:.1f} MiB (throughput phase peak {peak_phase1 / 1024:.1f} MiB).",
    ]
    write_section("load-benchmark", "Load: throughput, latency and shedding", lines)
    assert not other and lost == 0, (other, lost)


if __name__ == "__main__":
    main()
