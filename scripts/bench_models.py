"""Purchase-model fit benchmark (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB): this service's core against
Python's lifetimes, same data, same run.

Data (seeded; written once into BENCH_DIR, default /tmp/retention-kpi-bench):
- CDNOW: tests/fixtures/cdnow_sample_summary.csv (2,357 customers), for both models;
- a simulated BG/NBD summary of BENCH_CUSTOMERS customers (default 1,000,000; CDNOW-like
  parameters, observed for 26-78 weeks at day resolution, recency at hour resolution, which
  gives about 445,000 distinct (frequency, recency, T) rows at 1,000,000 customers);
- a simulated Pareto/NBD summary of BENCH_PARETO_CUSTOMERS customers (default 20,000;
  CDNOW-like parameters, observed for 26-39 weeks, recency and T at day resolution);
- MBG/NBD: CDNOW, and a simulated MBG/NBD summary of BENCH_CUSTOMERS customers as for BG/NBD
  (lifetimes' CDNOW MBG/NBD parameters);
- BG/BB: the donations (tests/fixtures/donations.csv, 11,104 donors as raw rows), and a simulated
  BG/BB summary of BENCH_BGBB_CUSTOMERS customers (default 100,000; the donations' parameters,
  4 to 52 periods each).

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
from lifetimes import BetaGeoBetaBinomFitter, BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
os.makedirs(WORK, exist_ok=True)
N = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
N_PARETO = int(os.environ.get("BENCH_PARETO_CUSTOMERS", "20000"))
# lifetimes' BG/BB loops over the periods on every row: 1,000,000 rows of up to 52 periods took
# it more than ten minutes per fit here, so the simulated BG/BB set is smaller.
N_BGBB = int(os.environ.get("BENCH_BGBB_CUSTOMERS", "100000"))
SKIP_OURS = os.environ.get("BENCH_SKIP_OURS", "") not in ("", "0")
CDNOW = os.path.join(ROOT, "tests/fixtures/cdnow_sample_summary.csv")

# Repeats: (ours, lifetimes) per data set.
REPEATS = {
    ("bgnbd", "cdnow"): (21, 5),
    ("bgnbd", "sim"): (5, 1),
    ("pareto_nbd", "cdnow"): (21, 5),
    ("pareto_nbd", "sim"): (5, 3),
    ("mbgnbd", "cdnow"): (21, 5),
    ("mbgnbd", "sim"): (5, 1),
    ("bgbb", "cdnow"): (21, 5),
    ("bgbb", "sim"): (5, 1),  # lifetimes: one fit of the raw rows, one of the grouped
}
MODELS = ("bgnbd", "mbgnbd", "pareto_nbd", "bgbb")
PARAM_NAMES = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "bgbb": ("alpha", "beta", "gamma", "delta"),
}
PARAM_LABELS = {"bgnbd": "r, α, a, b", "mbgnbd": "r, α, a, b", "pareto_nbd": "r, α, s, β", "bgbb": "α, β, γ, δ"}
MODEL_LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD", "bgbb": "BG/BB"}
FITTERS = {
    "bgnbd": BetaGeoFitter,
    "mbgnbd": ModifiedBetaGeoFitter,
    "pareto_nbd": ParetoNBDFitter,
    "bgbb": BetaGeoBetaBinomFitter,
}
DONATIONS = os.path.join(ROOT, "tests/fixtures/donations.csv")
# ParetoNBDFitter starts Nelder-Mead from np.random.normal(1, 0.05, 4): seeded before each fit.
PARETO_START_SEED = 0


def simulate_mbgnbd(n, seed=2028):
    """MBG/NBD process: as BG/NBD, and the customer may also leave (probability p) right after
    the first purchase; lifetimes' CDNOW parameters."""
    return simulate_bgnbd(n, seed, params=(0.525, 6.183, 0.891, 1.614), leave_at_start=True)


def simulate_bgbb(n, seed=2029):
    """BG/BB process: p ~ B(α, β), θ ~ B(γ, δ) at the donations' parameters; n_periods uniform
    over 4-52; in each period the customer first leaves with probability θ, then buys with
    probability p. Written with n_periods in the T column."""
    rng = np.random.default_rng(seed)
    al, be, ga, de = 1.204, 0.750, 0.657, 2.783
    p = rng.beta(al, be, n)
    theta = rng.beta(ga, de, n)
    periods = rng.integers(4, 53, n)
    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    for period in range(1, 53):
        alive &= (rng.random(n) >= theta) & (period <= periods)
        buy = alive & (rng.random(n) < p)
        x[buy] += 1
        tx[buy] = period
    return pd.DataFrame({"id": np.arange(n), "frequency": x, "recency": tx, "T": periods})


def donations_raw():
    """The donations expanded to one row per donor, n_periods in the T column."""
    d = pd.read_csv(DONATIONS)
    d = d.loc[d.index.repeat(d["weights"])]
    return pd.DataFrame({"frequency": d["frequency"].values, "recency": d["recency"].values, "T": d["periods"].values})


def simulate_bgnbd(n, seed=2026, params=(0.243, 4.414, 0.793, 2.426), leave_at_start=False):
    """BG/NBD process: λ ~ Γ(r, α), p ~ B(a, b); first purchase at 0, repeat purchases at
    Poisson rate λ, dropping out after each with probability p (and at the start too with
    `leave_at_start`, MBG/NBD); observed for T weeks, T uniform over 26-78 weeks at day
    resolution; recency at hour resolution."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = params
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.integers(26 * 7, 78 * 7 + 1, n) / 7.0
    t = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n)
    alive = rng.random(n) >= p if leave_at_start else np.ones(n, dtype=bool)
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
    if model in ("bgnbd", "mbgnbd", "bgbb"):
        fitter = FITTERS[model]
        if model == "bgbb":
            tx, T = tx.astype(int), T.astype(int)
        return float(-fitter._negative_log_likelihood(np.log(values), x, tx, T, w, 0.0) * w.sum())
    return float((w * ParetoNBDFitter._conditional_log_likelihood(values, x, tx, T)).sum())


def converted_log_likelihood(model, fitter, x, w):
    """The total log-likelihood in the data's time unit from lifetimes' `_negative_log_likelihood_`:
    undo its normalisation (BG/NBD: / Σw; Pareto/NBD: / mean w), then its time rescaling by c,
    which shifts the log-likelihood by -Σ w x log c."""
    w = np.asarray(w, dtype=float)
    norm = w.mean() if model == "pareto_nbd" else w.sum()
    scale = getattr(fitter, "_scale", 1.0)  # BG/BB counts periods: no rescaling
    return float(-fitter._negative_log_likelihood_ * norm + (w * np.asarray(x)).sum() * np.log(scale))


def time_lifetimes(model, df, repeats, weights=False):
    seconds = []
    fitter = None
    for _ in range(repeats):
        if model == "pareto_nbd":
            np.random.seed(PARETO_START_SEED)
        start = time.perf_counter()
        fitter = FITTERS[model]()
        try:
            if weights:
                g = grouped(df)
                fitter.fit(g["frequency"], g["recency"], g["T"], weights=g["w"])
            else:
                fitter.fit(df["frequency"], df["recency"], df["T"])
        except lifetimes.utils.ConvergenceError:
            # Reported as such in the table, with the time it took to give up.
            return {"median_s": time.perf_counter() - start, "min_s": None, "repeats": 1, "rows": len(df),
                    "params": None, "log_likelihood": None, "failed": "did not converge (ConvergenceError)"}
        if model == "bgbb":
            fitter.data = fitter.data.rename(columns={"n_periods": "T"})
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
        "time_scale": float(getattr(fitter, "_scale", 1.0)),
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
    mbg_path = os.path.join(WORK, f"mbgnbd_simulated_hourly_{N}.csv")
    if not os.path.exists(mbg_path):
        simulate_mbgnbd(N).to_csv(mbg_path, index=False)
    bb_path = os.path.join(WORK, f"bgbb_simulated_{N_BGBB}.csv")
    if not os.path.exists(bb_path):
        simulate_bgbb(N_BGBB).to_csv(bb_path, index=False)
    donations_path = os.path.join(WORK, "donations_raw.csv")
    donations_raw().to_csv(donations_path, index=False)
    cdnow = read_summary(CDNOW)
    data = {
        "cdnow": (CDNOW, cdnow, f"CDNOW, {len(cdnow):,} customers"),
        ("bgnbd", "sim"): (bg_path, read_summary(bg_path), f"simulated, {N:,} customers"),
        ("pareto_nbd", "sim"): (pn_path, read_summary(pn_path), f"simulated, {N_PARETO:,} customers"),
        ("mbgnbd", "sim"): (mbg_path, read_summary(mbg_path), f"simulated, {N:,} customers"),
        ("bgbb", "cdnow"): (donations_path, read_summary(donations_path), "donations, 11,104 donors"),
        ("bgbb", "sim"): (bb_path, read_summary(bb_path), f"simulated, {N_BGBB:,} customers"),
    }
    cases = []  # (model, data key, path, df, label)
    for model in MODELS:
        for which in ("cdnow", "sim"):
            key = (model, which) if (model, which) in data else "cdnow"
            path, df, label = data[key]
            cases.append((model, which, path, df, label))
    for model, which, path, df, label in cases:
        print(f"{MODEL_LABELS[model]} {label}: {path}: {len(df):,} customers, {distinct_rows(df):,} distinct rows", file=sys.stderr)

    ours = {}
    if not SKIP_OURS:
        for model in MODELS:
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
            f"{MODEL_LABELS[m]} {('donations' if m == 'bgbb' else 'CDNOW') if w == 'cdnow' else 'simulated'}: {o} ours, {t} lifetimes"
            for (m, w), (o, t) in REPEATS.items()
        )
        + ").",
        "",
        f"Simulated data (seeded, `scripts/bench_models.py`): BG/NBD with r, α, a, b = 0.243, 4.414, 0.793, 2.426, "
        "observed 26-78 weeks (day resolution), recency at hour resolution; Pareto/NBD with r, α, s, β = 0.55, 10.6, 0.61, 11.7, "
        "observed 26-39 weeks, recency and T at day resolution; MBG/NBD with r, α, a, b = 0.525, 6.183, 0.891, 1.614 as BG/NBD; "
        "BG/BB with α, β, γ, δ = 1.204, 0.750, 0.657, 2.783 over 4-52 periods. lifetimes' BetaGeoFitter and ModifiedBetaGeoFitter use BFGS from 0.1 on log-parameters, "
        "BetaGeoBetaBinomFitter from 0.1 too; "
        f"its ParetoNBDFitter uses Nelder-Mead (tol 1e-4) from a random start, seeded here (`np.random.seed({PARETO_START_SEED})`). "
        "Log-likelihoods are totals over customers with time in weeks (lifetimes' own formula evaluated at its parameters).",
        "",
        "| model | data | lifetimes input | distinct rows | retention-kpi fit | lifetimes fit | speed-up | parameters | ours | lifetimes | log-likelihood (ours) | log-likelihood (lifetimes) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, which, label, how, o, t, distinct in results:
        if t.get("failed"):
            lines.append(
                f"| {MODEL_LABELS[model]} | {label} | {how} | {distinct:,} | "
                + (f"{o['median_s'] * 1000:.1f} ms" if o else "—")
                + f" | {t['failed']} after {t['median_s'] * 1000:.1f} ms | — | {PARAM_LABELS[model]} | "
                + (fmt_params(model, o["params"]) if o else "—")
                + " | — | "
                + (f"{o['log_likelihood']:.2f}" if o else "—")
                + " | — |"
            )
            continue
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
        write_section("model-benchmark", "Purchase-model fits (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB): retention-kpi against lifetimes", lines)


if __name__ == "__main__":
    sys.exit(main())
