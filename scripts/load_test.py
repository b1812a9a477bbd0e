"""Load test of the release binary on 127.0.0.1 with wrk; writes BENCHMARKS.md.

Phase 1: throughput and latency of /crr, /nps and a 20-item /kpis beside a bare GET /healthz,
same binary, same run, same wrk settings (2 threads, 32 connections, DURATION seconds each).
Phase 2: a server with CONCURRENCY_LIMIT=L under 2 × L connections on /models/sbg (a model fit,
so that requests overlap): the answered requests' p99 against the same endpoint unloaded
(L / 2 connections), every non-200 a 503, no socket error or time-out, and the server's
resident memory before, after, and at its peak (VmHWM).
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
    server = start(port2, CONCURRENCY_LIMIT=LIMIT)
    try:
        url = f"http://127.0.0.1:{port2}/models/sbg"
        wrk(url, max(1, LIMIT // 2), "post.lua", BODIES["sbg"], duration=2)  # warm-up
        rss_before = memory_kb(server.pid, "VmRSS")
        unloaded = wrk(url, max(1, LIMIT // 2), "post.lua", BODIES["sbg"])
        overload = wrk(url, 2 * LIMIT, "post.lua", BODIES["sbg"])
        rss_after = memory_kb(server.pid, "VmRSS")
        peak = memory_kb(server.pid, "VmHWM")
        shed_probe = wrk(url, 2 * LIMIT, "post.lua", BODIES["sbg"], duration=3)
        rss_after_second = memory_kb(server.pid, "VmRSS")
    finally:
        server.terminate()
        server.wait(timeout=30)

    statuses = overload["statuses"]
    errors = overload["errors"]
    other = {s: n for s, n in statuses.items() if s not in ("200", "503")}
    lost = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    h = health["rps"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/load_test.sh`: the release binary on 127.0.0.1, wrk 4.1 with 2 threads, "
        f"{DURATION} s per row. **wrk runs on the same 2 cores as the server**, so every figure includes the load generator's own CPU use; "
        "read the ratios to `/healthz`, measured in the same run.",
        "",
        "| request (32 connections) | requests/s | vs /healthz | p50 | p99 | p99 vs /healthz |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in rows:
        lines.append(f"| {name} | {s['rps']:,.0f} | {s['rps'] / h * 100:.0f} % | {s['p50_ms']:.2f} ms | {s['p99_ms']:.2f} ms | {s['p99_ms'] / health['p99_ms']:.2f}× |")
    lines += [
        "",
        f"Overload: `CONCURRENCY_LIMIT={LIMIT}`, `POST /models/sbg` (an sBG fit per request), {DURATION} s each.",
        "",
        "| connections | answered 200 | shed 503 | other statuses | socket errors / time-outs | p50 | p99 (all answers) |",
        "|---|---|---|---|---|---|---|",
        f"| {max(1, LIMIT // 2)} (unloaded) | {unloaded['statuses'].get('200', 0):,} | {unloaded['statuses'].get('503', 0):,} | {sum(n for s, n in unloaded['statuses'].items() if s not in ('200', '503'))} | "
        f"{sum(unloaded['errors'][k] for k in ('connect', 'read', 'write', 'timeout'))} | {unloaded['p50_ms']:.2f} ms | {unloaded['p99_ms']:.2f} ms |",
        f"| {2 * LIMIT} (2 × limit) | {statuses.get('200', 0):,} | {statuses.get('503', 0):,} | {sum(other.values())} | {lost} | {overload['p50_ms']:.2f} ms | {overload['p99_ms']:.2f} ms |",
        "",
        f"At 2 × the limit: p99 of all answers (200s and 503s together; wrk does not split latency by status) is "
        f"{overload['p99_ms'] / unloaded['p99_ms']:.2f}× the unloaded p99; longest answer {overload['max_ms']:.1f} ms. "
        f"Resident memory {rss_before / 1024:.1f} MiB before the overload, {rss_after / 1024:.1f} MiB after it, peak {peak / 1024:.1f} MiB "
        f"(throughput phase peak {peak_phase1 / 1024:.1f} MiB). A second overload run shed {shed_probe['statuses'].get('503', 0):,} of "
        f"{shed_probe['requests']:,} requests with {sum(shed_probe['errors'][k] for k in ('connect', 'read', 'write', 'timeout'))} socket errors; "
        f"resident memory after it {rss_after_second / 1024:.1f} MiB.",
    ]
    write_section("load-benchmark", "Load: throughput, latency and shedding", lines)
    assert not other and lost == 0, (other, errors)


if __name__ == "__main__":
    main()
