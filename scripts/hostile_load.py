"""Hostile-load cases against the release binary on 127.0.0.1 (loopback only, every loop
bounded in count and time). Each case starts a fresh server, runs its attack while a prober
times GET /healthz every 20 ms, and reports: the attack's answers by status, the server's
CPU-seconds during the case, its peak resident memory (VmHWM), and /healthz p50/p99 during the
attack. With BASELINE_BINARY (scripts/hostile_load.sh builds one from BASELINE_REV), every
case runs against that build too, in the same run. Writes the table into BENCHMARKS.md
(section hostile-load). Run through scripts/hostile_load.sh.
"""
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target/release/retention-kpi")
BASELINE = os.environ.get("BASELINE_BINARY")
BASELINE_REV = os.environ.get("BASELINE_REV", "")
PORT = 18400


def start(env=None, binary=BINARY):
    full = {"PORT": str(PORT), "HOST": "127.0.0.1", "RUST_LOG": "error", "PATH": "/usr/bin:/bin"}
    full.update(env or {})
    server = subprocess.Popen([binary], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def post(path, body, content_type="application/json", timeout=60.0):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=body, headers={"content-type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (TimeoutError, socket.timeout):
        return "client timeout"
    except OSError as error:
        return type(error).__name__


class Prober(threading.Thread):
    """GET /healthz every 20 ms until stopped; latencies in ms (a failure counts as 5000)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.latencies, self.stop = [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=5).read()
                self.latencies.append((time.perf_counter() - started) * 1000)
            except OSError:
                self.latencies.append(5000.0)
            time.sleep(0.02)

    def percentile(self, q):
        values = sorted(self.latencies) or [float("nan")]
        return values[min(len(values) - 1, int(q * len(values)))]


def parallel(count, work):
    results = [None] * count
    def run(i):
        results[i] = work(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ----- the cases -----

def survival_groups():
    rows = "".join(f"{1 + i % 7},{i % 2},g{i}\n" for i in range(3000))
    body = ("duration,observed,group\n" + rows).encode()
    return parallel(2, lambda _: post("/survival", body, "text/csv"))


def series_large():
    rng = random.Random(1)
    lines = ["customer_id,date,mrr"]
    for i in range(400_000):
        lines.append(f"c{rng.randrange(40_000)},2026-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d},{rng.randrange(1, 500)}")
    body = ("\n".join(lines) + "\n").encode()
    return parallel(2, lambda _: post("/series?period=month", body, "text/csv"))


def slow_fit_body():
    rng = random.Random(2)
    customers = []
    for i in range(30_000):
        t = 26.0 + (i % 9973) / 769.0
        x = i % 17
        tx = t * (rng.randrange(101) + 1) / 103.0 if x > 0 else 0.0
        customers.append({"frequency": x, "recency": tx, "T": t})
    return json.dumps({"customers": customers}).encode()


def abandoned_fits():
    body = slow_fit_body()
    results = parallel(8, lambda _: post("/models/pareto-nbd", body, timeout=1.0))
    time.sleep(2.0)  # what the server still spends once every client has gone
    return results


def method_cardinality():
    statuses = []
    for i in range(1000):
        method = bytes(65 + b % 26 for b in random.Random(i).randbytes(10_000)).decode()
        with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
            s.sendall(f"{method} /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(16)
            statuses.append(head[9:12].decode() if head else "closed")
    size = len(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10).read())
    statuses.append(f"/metrics {size / 1024:.0f} KiB")
    return statuses


def slow_headers():
    socks, statuses = [], []
    for _ in range(1000):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 380_000)
        except OSError:
            statuses.append("send refused")
        socks.append(s)
    time.sleep(2.0)
    for s in socks:
        s.settimeout(0.01)
        try:
            head = s.recv(16)
            statuses.append(head[9:12].decode() if head else "closed")
        except (TimeoutError, socket.timeout):
            statuses.append("held open")
        except OSError as error:
            statuses.append(type(error).__name__)
        s.close()
    return statuses


def trickling_bodies():
    crr = b'{"start_customers":100,"new_customers":20,"end_customers":95}'
    socks = []
    for _ in range(260):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        s.sendall(b"POST /crr HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(crr) + crr[:5])
        socks.append(s)
    statuses = [post("/crr", crr, timeout=5) for _ in range(200)]
    for s in socks:
        s.close()
    return statuses


CASES = [
    ("/survival, 2 × 3,000 groups (CSV, 34 KB each)", survival_groups, {}),
    ("/series, 2 × 400,000 events (CSV, ~11 MB each, BODY_LIMIT 64 MiB)", series_large, {"BODY_LIMIT": str(64 << 20)}),
    ("8 × Pareto/NBD on 30,000 rows (2.2 MB, BODY_LIMIT 8 MiB), clients give up after 1 s", abandoned_fits, {"BODY_LIMIT": str(8 << 20)}),
    ("1,000 requests with 10 KB made-up methods", method_cardinality, {}),
    ("1,000 connections each holding a 380 KB unfinished header", slow_headers, {}),
    ("260 connections trickling a /crr body, then 200 /crr", trickling_bodies, {"CONCURRENCY_LIMIT": "256"}),
]


def summarise(results):
    counts = {}
    for r in results:
        key = str(r)
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def sigterm_with_abandoned_fits(binary):
    server = start({"SHUTDOWN_GRACE_MS": "1000", "BODY_LIMIT": str(8 << 20)}, binary)
    body = slow_fit_body()
    answers = []
    threading.Thread(target=lambda: answers.extend(parallel(2, lambda _: post("/models/pareto-nbd", body, timeout=30))), daemon=True).start()
    time.sleep(1.0)
    sent = time.perf_counter()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    exited = time.perf_counter() - sent
    time.sleep(0.2)
    return exited


def run_case(case, env, binary):
    server = start(env, binary)
    before = cpu_seconds(server.pid)
    prober = Prober()
    prober.start()
    started = time.perf_counter()
    results = case()
    elapsed = time.perf_counter() - started
    prober.stop.set()
    prober.join()
    cpu = cpu_seconds(server.pid) - before
    peak = peak_rss_mib(server.pid)
    server.kill()
    server.wait(timeout=60)
    return summarise(results), elapsed, cpu, peak, prober.percentile(0.5), prober.percentile(0.99)


def main():
    builds = [("this build", BINARY)] + ([(f"baseline {BASELINE_REV}", BASELINE)] if BASELINE else [])
    rows = []
    for name, case, env in CASES:
        for build, binary in builds:
            row = (name, build, *run_case(case, env, binary))
            rows.append(row)
            print(row, flush=True)
    exits = [(build, sigterm_with_abandoned_fits(binary)) for build, binary in builds]
    print("sigterm", exits, flush=True)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/hostile_load.sh`: release binaries on 127.0.0.1 with default settings unless said, a fresh server per case and build, "
        "the attack and a /healthz prober (every 20 ms) from the same 2-core machine"
        + (f"; the baseline is the release build of {BASELINE_REV} (before the determinism and hardening work), measured in the same run" if BASELINE else "")
        + ". CPU-seconds are the server's own (user + system) from the start of the attack until its last answer (for the abandoned fits, 2 s after the clients left); "
        "peak memory is the server's VmHWM. Client timeouts: 60 s (1 s for the abandoned fits).",
        "",
        "| case | build | answers | wall time | server CPU | server peak memory | /healthz p50 during | /healthz p99 during |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, build, answers, elapsed, cpu, peak, p50, p99 in rows:
        lines.append(f"| {name} | {build} | {answers} | {elapsed:.1f} s | {cpu:.1f} s | {peak:.0f} MiB | {p50:.1f} ms | {p99:.1f} ms |")
    lines.append("")
    for build, seconds in exits:
        lines.append(f"SIGTERM with two 30,000-row Pareto/NBD fits in flight, `SHUTDOWN_GRACE_MS=1000` ({build}): the process exited {seconds:.1f} s after the signal.")
        lines.append("")
    write_section("hostile-load", "Hostile load: bounded work, cancellation, connection limits", lines[:-1])


if __name__ == "__main__":
    main()
