"""BG/NBD and Pareto/NBD fit benchmark: this service's core against Python's lifetimes, same data,
same run.

Data (seeded; written once into BENCH_DIR, default /tmp/retention-kpi-bench):
- CDNOW: tests/fixtures/cdnow_sample_summary.csv (2,357 customers), for both models;
- a simulated BG/NBD summary of BENCH_CUSTOMERS customers (default 1,000,000; CDNOW-like
  parameters, observed for 26-78 weeks at day resolution, recency at hour resolution, which
  gives about 445,000 distinct (frequency, recency, T) rows at 1,000,000 customers);
- a simulated Pareto/NBD summary of BENCH_PARETO_CUSTOMERS customers (default 20,000;
  CDNOW-like parameters, observed for 26-39 weeks, recency and T at day resolution).

Times the fits with the release build of examples/fit_bench.rs (`--model bgnbd|pareto_nbd`) and
with lifetimes' BetaGeoFitter / ParetoNBDFitter (raw rows, and with their `weights` argument on
grouped rows), and writes the figures into BENCHMARKS.md between the model-benchmark markers.
Run through scripts/bench_models.sh.

BENCH_SKIP_OURS=1 runs and prints the lifetimes side only (no cargo, BENCHMARKS.md untouched).

Log-likelihoods are totals over customers in the data's own time unit (weeks), the convention of
Fader and Hardie (CDNOW: about -9582.4 for BG/NBD, -9595.0 for Pareto/NBD). lifetimes fits on
time rescaled by 10 / max(T) and keeps a normalised negative log-likelihood of that rescaled
data (BetaGeoFitter: the mean per customer; ParetoNBDFitter: the weighted sum over the mean
weight), so its figure here is lifetimes' own formula evaluated at its fitted parameters on the
data as given, checked against the value converted from its `_negative_log_likelihood_`.
"""
import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version

import lifetimes
import numpy as np
import pandas as pd
import scipy
from lifetimes import BetaGeoFitter, ParetoNBDFitter

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
os.makedirs(WORK, exist_ok=True)
N = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
N_PARETO = int(os.environ.get("BENCH_PARETO_CUSTOMERS", "20000"))
SKIP_OURS = os.environ.get("BENCH_SKIP_OURS", "") not in ("", "0")
CDNOW = os.path.join(ROOT, "tests/fixtures/cdnow_sample_summary.csv")

# Repeats: (ours, lifetimes) per data set.
REPEATS = {
    ("bgnbd", "cdnow"): (21, 5),
    ("bgnbd", "sim"): (5, 1),
    ("pareto_nbd", "cdnow"): (21, 5),
    ("pareto_nbd", "sim"): (5, 3),
}
PARAM_NAMES = {"bgnbd": ("r", "alpha", "a", "b"), "pareto_nbd": ("r", "alpha", "s", "beta")}
PARAM_LABELS = {"bgnbd": "r, α, a, b", "pareto_nbd": "r, α, s, β"}
MODEL_LABELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
FITTERS = {"bgnbd": BetaGeoFitter, "pareto_nbd": ParetoNBDFitter}
# ParetoNBDFitter starts Nelder-Mead from np.random.normal(1, 0.05, 4): seeded before each fit.
PARETO_START_SEED = 0


def simulate_bgnbd(n, seed=2026):
    """BG/NBD process: λ ~ Γ(r, α), p ~ B(a, b); first purchase at 0, repeat purchases at
    Poisson rate λ, dropping out after each with probability p; observed for T weeks, T uniform
    over 26-78 weeks at day resolution; recency at hour resolution."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.integers(26 * 7, 78 * 7 + 1, n) / 7.0
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
        tx[buyers] = np.floor(t[buyers] * 168) / 168.0  # hour resolution
        alive[idx[~inside]] = False
        drop = rng.random(buyers.size) < p[buyers]
        alive[buyers[drop]] = False
    return pd.DataFrame({"id": np.arange(n), "frequency": x, "recency": tx, "T": T})


def simulate_pareto_nbd(n, seed=2027):
    """Pareto/NBD process: λ ~ Γ(r, α), μ ~ Γ(s, β) (rates, scale 1/α and 1/β); lifetime τ ~
    Exp(μ); first purchase at 0, repeat purchases at Poisson rate λ while alive; observed for T
    weeks, T uniform over 26-39 weeks at day resolution; recency at day resolution. The repeat
    purchases in (0, min(τ, T)] are Poisson(λ min(τ, T)) in count, uniform in time, so the last
    one is min(τ, T) × U^(1/x)."""
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = 0.55, 10.6, 0.61, 11.7
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    T = rng.integers(26 * 7, 39 * 7 + 1, n) / 7.0
    tau = rng.exponential(1.0, n) / np.maximum(mu, 1e-300)
    alive_for = np.minimum(tau, T)
    x = rng.poisson(lam * alive_for)
    u = rng.random(n)
    last = np.where(x > 0, alive_for * u ** (1.0 / np.maximum(x, 1)), 0.0)
    tx = np.floor(last * 7) / 7.0  # day resolution
    return pd.DataFrame({"id": np.arange(n), "frequency": x, "recency": tx, "T": T})


def read_summary(path):
    # The same doubles as the Rust side parses, so distinct-row counts agree: pandas 3 parses
    # exactly by default (and deprecates float_precision); older pandas needs round_trip.
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, **exact)


def distinct_rows(df):
    return len(df[["frequency", "recency", "T"]].drop_duplicates())


def grouped(df):
    return df.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")


def total_log_likelihood(model, params, x, tx, T, w):
    """lifetimes' own log-likelihood formula at `params`, summed with weights, data as given."""
    x = np.asarray(x).astype(int)
    tx, T, w = (np.asarray(v, dtype=float) for v in (tx, T, w))
    values = np.array([params[k] for k in PARAM_NAMES[model]])
    if model == "bgnbd":
        return float(-BetaGeoFitter._negative_log_likelihood(np.log(values), x, tx, T, w, 0.0) * w.sum())
    return float((w * ParetoNBDFitter._conditional_log_likelihood(values, x, tx, T)).sum())


def converted_log_likelihood(model, fitter, x, w):
    """The total log-likelihood in the data's time unit from lifetimes' `_negative_log_likelihood_`:
    undo its normalisation (BG/NBD: / Σw; Pareto/NBD: / mean w), then its time rescaling by c,
    which shifts the log-likelihood by -Σ w x log c."""
    w = np.asarray(w, dtype=float)
    norm = w.sum() if model == "bgnbd" else w.mean()
    return float(-fitter._negative_log_likelihood_ * norm + (w * np.asarray(x)).sum() * np.log(fitter._scale))


def time_lifetimes(model, df, repeats, weights=False):
    seconds = []
    fitter = None
    for _ in range(repeats):
        if model == "pareto_nbd":
            np.random.seed(PARETO_START_SEED)
        start = time.perf_counter()
        fitter = FITTERS[model]()
        if weights:
            g = grouped(df)
            fitter.fit(g["frequency"], g["recency"], g["T"], weights=g["w"])
        else:
            fitter.fit(df["frequency"], df["recency"], df["T"])
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    params = {k: float(fitter.params_[k]) for k in PARAM_NAMES[model]}
    d = fitter.data
    ll = total_log_likelihood(model, params, d["frequency"], d["recency"], d["T"], d["weights"])
    ll_attr = converted_log_likelihood(model, fitter, d["frequency"], d["weights"])
    if abs(ll - ll_attr) > 1e-6 * max(1.0, abs(ll)):
        print(f"warning: {model} log-likelihood {ll} differs from the converted attribute {ll_attr}", file=sys.stderr)
    return {
        "median_s": seconds[len(seconds) // 2],
        "min_s": seconds[0],
        "repeats": repeats,
        "rows": len(d),
        "params": params,
        "log_likelihood": ll,
        "log_likelihood_from_attribute": ll_attr,
        "negative_log_likelihood_attribute": float(fitter._negative_log_likelihood_),
        "time_scale": float(fitter._scale),
    }


def run_ours(model, pairs):
    """examples/fit_bench.rs: one JSON line per file, keyed here by the path passed."""
    args = ["cargo", "run", "--quiet", "--release", "--example", "fit_bench", "--", "--model", model]
    for path, repeats in pairs:
        args += [path, str(repeats)]
    out = subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.strip().splitlines():
        row = json.loads(line)
        rows[row["file"]] = row
    return rows


def fmt_params(model, params):
    return ", ".join(f"{params[k]:.4f}" for k in PARAM_NAMES[model])


def main():
    bg_path = os.path.join(WORK, f"bgnbd_simulated_hourly_{N}.csv")
    if not os.path.exists(bg_path):
        simulate_bgnbd(N).to_csv(bg_path, index=False)
    pn_path = os.path.join(WORK, f"pareto_nbd_simulated_{N_PARETO}.csv")
    if not os.path.exists(pn_path):
        simulate_pareto_nbd(N_PARETO).to_csv(pn_path, index=False)
    cdnow = read_summary(CDNOW)
    data = {
        "cdnow": (CDNOW, cdnow, f"CDNOW, {len(cdnow):,} customers"),
        ("bgnbd", "sim"): (bg_path, read_summary(bg_path), f"simulated, {N:,} customers"),
        ("pareto_nbd", "sim"): (pn_path, read_summary(pn_path), f"simulated, {N_PARETO:,} customers"),
    }
    cases = []  # (model, data key, path, df, label)
    for model in ("bgnbd", "pareto_nbd"):
        for which in ("cdnow", "sim"):
            path, df, label = data["cdnow"] if which == "cdnow" else data[(model, which)]
            cases.append((model, which, path, df, label))
    for model, which, path, df, label in cases:
        print(f"{MODEL_LABELS[model]} {label}: {path}: {len(df):,} customers, {distinct_rows(df):,} distinct rows", file=sys.stderr)

    ours = {}
    if not SKIP_OURS:
        for model in ("bgnbd", "pareto_nbd"):
            pairs = [(path, REPEATS[(model, which)][0]) for m, which, path, _, _ in cases if m == model]
            ours[model] = run_ours(model, pairs)

    results = []  # (model, which, label, lifetimes input, ours row or None, lifetimes result, distinct)
    for model, which, path, df, label in cases:
        reps = REPEATS[(model, which)][1]
        o = ours.get(model, {}).get(path)
        distinct = distinct_rows(df)
        if o is not None and o["distinct_rows"] != distinct:
            print(f"warning: {path}: distinct rows {o['distinct_rows']} (ours) against {distinct} (pandas)", file=sys.stderr)
        inputs = [("raw rows", False)]
        if which == "sim":
            inputs.append(("grouped rows with `weights`", True))
        for how, weights in inputs:
            t = time_lifetimes(model, df, reps, weights=weights)
            print(json.dumps({"model": model, "file": path, "input": how, "customers": len(df), "distinct_rows": distinct, **t}), file=sys.stderr)
            results.append((model, which, label, how, o, t, distinct))
    with open(os.path.join(WORK, "lifetimes_results.json"), "w") as out:
        json.dump([{"model": m, "data": lab, "input": how, "distinct_rows": d, **t} for m, _, lab, how, _, t, d in results], out, indent=1)

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on this machine ({os.cpu_count()} cores, {platform.processor() or platform.machine()}), "
        f"by `scripts/bench_models.sh`; lifetimes {lifetimes.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pandas {pd.__version__}, autograd {version('autograd')}, Python {platform.python_version()}. "
        "Fit time includes grouping identical rows (ours); medians of the repeats ("
        + "; ".join(
            f"{MODEL_LABELS[m]} {'CDNOW' if w == 'cdnow' else 'simulated'}: {o} ours, {t} lifetimes"
            for (m, w), (o, t) in REPEATS.items()
        )
        + ").",
        "",
        f"Simulated data (seeded, `scripts/bench_models.py`): BG/NBD with r, α, a, b = 0.243, 4.414, 0.793, 2.426, "
        "observed 26-78 weeks (day resolution), recency at hour resolution; Pareto/NBD with r, α, s, β = 0.55, 10.6, 0.61, 11.7, "
        "observed 26-39 weeks, recency and T at day resolution. lifetimes' BetaGeoFitter uses BFGS from 0.1 on log-parameters; "
        f"its ParetoNBDFitter uses Nelder-Mead (tol 1e-4) from a random start, seeded here (`np.random.seed({PARETO_START_SEED})`). "
        "Log-likelihoods are totals over customers with time in weeks (lifetimes' own formula evaluated at its parameters).",
        "",
        "| model | data | lifetimes input | distinct rows | retention-kpi fit | lifetimes fit | speed-up | parameters | ours | lifetimes | log-likelihood (ours) | log-likelihood (lifetimes) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, which, label, how, o, t, distinct in results:
        if o is not None:
            ours_time = f"{o['median_s'] * 1000:.1f} ms"
            speedup = f"{t['median_s'] / o['median_s']:.0f}×"
            ours_params = fmt_params(model, o["params"])
            ours_ll = f"{o['log_likelihood']:.2f}"
        else:
            ours_time = speedup = ours_params = ours_ll = "—"
        lines.append(
            f"| {MODEL_LABELS[model]} | {label} | {how} | {distinct:,} | {ours_time} | {t['median_s'] * 1000:.1f} ms | {speedup} | "
            f"{PARAM_LABELS[model]} | {ours_params} | {fmt_params(model, t['params'])} | {ours_ll} | {t['log_likelihood']:.2f} |"
        )
    if SKIP_OURS:
        print("\n".join(lines))
        print("(BENCH_SKIP_OURS: BENCHMARKS.md left as it was)", file=sys.stderr)
    else:
        write_section("model-benchmark", "BG/NBD and Pareto/NBD fits: retention-kpi against lifetimes", lines)


if __name__ == "__main__":
    sys.exit(main())
