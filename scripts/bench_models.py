"""BG/NBD fit benchmark: this service's core against Python's lifetimes, same data, same run.

Simulates a 1,000,000-customer BG/NBD summary (seeded; CDNOW-like parameters, 26-39 weeks of
observation at day resolution), then times the BG/NBD fit on CDNOW and on the simulated data
with the release build of examples/fit_bench.rs and with lifetimes' BetaGeoFitter (raw rows,
and with its `weights` argument on grouped rows), and writes the figures into BENCHMARKS.md
between the model-benchmark markers. Run through scripts/bench_models.sh.
"""
import json
import os
import platform
import subprocess
import sys
import time

import lifetimes
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
os.makedirs(WORK, exist_ok=True)
N = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))


def simulate(n, seed=2026):
    """BG/NBD process: λ ~ Γ(r, α), p ~ B(a, b); first purchase at 0, repeat purchases at
    Poisson rate λ, dropping out after each with probability p; observed for T weeks."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.integers(26 * 7, 39 * 7 + 1, n) / 7.0
    t = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1.0, idx.size) / np.maximum(lam[idx], 1e-12)
        inside = t[idx] <= T[idx]
        buyers = idx[inside]
        x[buyers] += 1
        tx[buyers] = np.floor(t[buyers] * 7) / 7.0  # day resolution
        alive[idx[~inside]] = False
        drop = rng.random(buyers.size) < p[buyers]
        alive[buyers[drop]] = False
    return pd.DataFrame({"id": np.arange(n), "frequency": x, "recency": tx, "T": T})


def time_lifetimes(df, repeats, weights=False):
    seconds = []
    fitter = None
    for _ in range(repeats):
        start = time.perf_counter()
        fitter = BetaGeoFitter()
        if weights:
            g = df.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
            fitter.fit(g["frequency"], g["recency"], g["T"], weights=g["w"])
        else:
            fitter.fit(df["frequency"], df["recency"], df["T"])
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    return {"median_s": seconds[len(seconds) // 2], "min_s": seconds[0], "params": {k: float(v) for k, v in fitter.params_.items()}}


def main():
    cdnow_path = os.path.join(ROOT, "tests/fixtures/cdnow_sample_summary.csv")
    sim_path = os.path.join(WORK, f"bgnbd_simulated_{N}.csv")
    if not os.path.exists(sim_path):
        simulate(N).to_csv(sim_path, index=False)
    cdnow = pd.read_csv(cdnow_path)
    sim = pd.read_csv(sim_path)

    ours = {}
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "--example", "fit_bench", "--", cdnow_path, "21", sim_path, "5"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.strip().splitlines():
        row = json.loads(line)
        ours[row["file"]] = row
    theirs_cdnow = time_lifetimes(cdnow, 5)
    theirs_sim = time_lifetimes(sim, 1)
    theirs_sim_weighted = time_lifetimes(sim, 1, weights=True)

    o_c, o_s = ours[cdnow_path], ours[sim_path]
    rows = [
        ("CDNOW, 2,357 customers", o_c, theirs_cdnow, "raw rows"),
        (f"simulated, {N:,} customers", o_s, theirs_sim, "raw rows"),
        (f"simulated, {N:,} customers", o_s, theirs_sim_weighted, "grouped rows with `weights`"),
    ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on this machine ({os.cpu_count()} cores, {platform.processor() or platform.machine()}), "
        f"by `scripts/bench_models.sh`; lifetimes {lifetimes.__version__}, numpy {np.__version__}, Python {platform.python_version()}. "
        "Fit time includes grouping identical rows (ours); medians of the repeats (CDNOW: 21 ours, 5 lifetimes; simulated: 5 ours, 1 lifetimes).",
        "",
        "| data | distinct rows (ours) | retention-kpi fit | lifetimes fit | lifetimes input | speed-up | r, α, a, b (ours) | r, α, a, b (lifetimes) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, o, t, how in rows:
        tp = t["params"]
        lines.append(
            f"| {name} | {o['distinct_rows']:,} | {o['median_s'] * 1000:.1f} ms | {t['median_s'] * 1000:.1f} ms | {how} | "
            f"{t['median_s'] / o['median_s']:.0f}× | {o['r']:.4f}, {o['alpha']:.4f}, {o['a']:.4f}, {o['b']:.4f} | "
            f"{tp['r']:.4f}, {tp['alpha']:.4f}, {tp['a']:.4f}, {tp['b']:.4f} |"
        )
    write_section("model-benchmark", "BG/NBD fit: retention-kpi against lifetimes", lines)


if __name__ == "__main__":
    sys.exit(main())
