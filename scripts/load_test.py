"""Load test of the release binary on 127.0.0.1 with wrk; writes BENCHMARKS.md.

Phase 1: throughput and latency of /crr, /nps and a 20-item /kpis beside a bare GET /healthz,
same binary, same run, same wrk settings (2 threads, 32 connections): ROUNDS interleaved rounds
of ROUND_SECONDS per request (default 5 × 4 s), medians reported with each round's ratio range.
Phase 2: a server with CONCURRENCY_LIMIT=L on /models/sbg (a model fit per request), driven by
examples/overload.rs (a closed-loop generator that splits latency by status, which wrk cannot)
at L / 2 connections (unloaded), L (at the limit), 2 × L (overload) and 16 × L: answered (200)
and shed (503) counts and latencies, no other status, no socket error, and the server's
resident memory before, after, and at its peak (VmHWM). L defaults to the number of cores
(LOAD_CONCURRENCY_LIMIT), the size README recommends for CPU-bound traffic; a last run with an
oversized limit (8 × cores) shows what admitting more than the cores can run costs in latency.
"""
import json
import os
import statistics
import re
import subprocess
import time
import urllib.request

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/retention-kpi")
LOAD = os.path.join(ROOT, "scripts/load")
DURATION = int(os.environ.get("DURATION", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
ROUND_SECONDS = int(os.environ.get("ROUND_SECONDS", "4"))
CORES = os.cpu_count() or 1
LIMIT = int(os.environ.get("LOAD_CONCURRENCY_LIMIT", str(CORES)))
OVERSIZED = 8 * CORES
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
        # Interleaved rounds, so that the shared machine's slow and fast moments fall on the
        # baseline and the endpoints alike; each figure is the median over the rounds.
        targets = [
            ("GET /healthz (baseline)", "/healthz", "get.lua", None),
            ("POST /crr", "/crr", "post.lua", BODIES["crr"]),
            ("POST /nps", "/nps", "post.lua", BODIES["nps"]),
            ("POST /kpis (20 items)", "/kpis", "post.lua", BODIES["kpis"]),
        ]
        samples = {name: [] for name, *_ in targets}
        for _ in range(ROUNDS):
            for name, path, script, body in targets:
                stats = wrk(base + path, 32, script, body, duration=ROUND_SECONDS)
                assert body is None or set(stats["statuses"]) == {"200"}, stats
                assert stats["errors"]["status"] == 0, stats
                samples[name].append(stats)
        rows = [(name, {key: statistics.median(run[key] for run in samples[name]) for key in ("rps", "p50_ms", "p99_ms")}) for name, *_ in targets]
        ratios = {name: [run["rps"] / base_run["rps"] for run, base_run in zip(samples[name], samples[targets[0][0]])] for name, *_ in targets}
        health = rows[0][1]
        peak_phase1 = memory_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)

    port2 = port + 1
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--example", "overload"], cwd=ROOT, check=True)
    body_path = os.path.join(WORK, "overload_sbg.json")
    with open(body_path, "w") as f:
        json.dump(BODIES["sbg"], f)

    def overload_run(connections, seconds=DURATION, port=port2):
        out = subprocess.run(
            [os.path.join(ROOT, "target/release/examples/overload"), f"127.0.0.1:{port}", "/models/sbg", body_path, str(connections), str(seconds)],
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
        far = overload_run(16 * LIMIT)
        runs.append((f"{16 * LIMIT} (16 × limit)", far))
        rss_after_far = memory_kb(server.pid, "VmRSS")
        peak = memory_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)

    # The same traffic with a limit far above what the cores can run at once.
    port3 = port2 + 1
    server = start(port3, CONCURRENCY_LIMIT=OVERSIZED)
    try:
        overload_run(OVERSIZED // 2, 2, port3)  # warm-up
        oversized = [
            (f"{OVERSIZED // 2} (unloaded)", overload_run(OVERSIZED // 2, port=port3)),
            (f"{2 * OVERSIZED} (2 × limit)", overload_run(2 * OVERSIZED, port=port3)),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)

    def status(run, code, key):
        return run["statuses"].get(code, {}).get(key, 0)

    everything = [run for _, run in runs + oversized] + [second]
    other = {code: v["count"] for run in everything for code, v in run["statuses"].items() if code not in ("200", "503")}
    lost = sum(run["socket_errors"] for run in everything)
    h = health["rps"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/load_test.sh`: the release binary on 127.0.0.1, wrk 4.1 with 2 threads and "
        f"32 connections, {ROUNDS} interleaved rounds of {ROUND_SECONDS} s per request (healthz, crr, nps, kpis, healthz, …); medians over the rounds, "
        "and the range of the per-round throughput ratios. **wrk runs on the same 2 cores as the server**, so every figure includes the "
        "load generator's own CPU use; read the ratios to `/healthz`, measured in the same rounds.",
        "",
        "| request (32 connections) | requests/s | vs /healthz | per-round range | p50 | p99 | p99 vs /healthz |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, st in rows:
        low, high = min(ratios[name]) * 100, max(ratios[name]) * 100
        lines.append(f"| {name} | {st['rps']:,.0f} | {st['rps'] / h * 100:.0f} % | {low:.0f}–{high:.0f} % | {st['p50_ms']:.2f} ms | {st['p99_ms']:.2f} ms | {st['p99_ms'] / health['p99_ms']:.2f}× |")
    header = [
        "| connections | answered 200 | 200 p50 | 200 p99 | 200 p99 vs unloaded | shed 503 | 503 p99 | 503 max | other statuses | socket errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def overload_rows(table):
        base = status(table[0][1], "200", "p99_ms")
        out = []
        for name, run in table:
            others = sum(v["count"] for code, v in run["statuses"].items() if code not in ("200", "503"))
            out.append(
                f"| {name} | {status(run, '200', 'count'):,} | {status(run, '200', 'p50_ms'):.2f} ms | {status(run, '200', 'p99_ms'):.2f} ms | "
                f"{status(run, '200', 'p99_ms') / base:.1f}× | {status(run, '503', 'count'):,} | {status(run, '503', 'p99_ms'):.2f} ms | "
                f"{status(run, '503', 'max_ms'):.1f} ms | {others} | {run['socket_errors']} |"
            )
        return out

    lines += [
        "",
        f"Overload: `CONCURRENCY_LIMIT={LIMIT}` (the number of cores), `POST /models/sbg` (an sBG fit per request, about 0.1 ms), "
        f"{DURATION} s per row, driven by `examples/overload.rs` (closed loop: a shed connection sends its next request at once, "
        f"so {2 * LIMIT} connections keep twice the limit outstanding), on the same {CORES} cores.",
        "",
        *header,
        *overload_rows(runs),
        "",
        f"Resident memory {rss_before / 1024:.1f} MiB before the overload, {rss_after / 1024:.1f} MiB after it, {rss_after_second / 1024:.1f} MiB "
        f"after a second overload run ({status(second, '503', 'count'):,} shed), {rss_after_far / 1024:.1f} MiB after the 16 × limit run; peak {peak / 1024:.1f} MiB (throughput phase peak {peak_phase1 / 1024:.1f} MiB).",
    ]
    lines += [
        "",
        f"The same traffic with an oversized limit, `CONCURRENCY_LIMIT={OVERSIZED}` (8 × the cores): the admitted requests queue for the "
        "cores inside the limit, so their latency grows with the limit instead of staying near the unloaded one.",
        "",
        *header,
        *overload_rows(oversized),
    ]
    write_section("load-benchmark", "Load: throughput, latency and shedding", lines)
    assert not other and lost == 0, (other, lost)


if __name__ == "__main__":
    main()
