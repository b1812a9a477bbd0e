"""Cox regression: this service against lifelines' CoxPHFitter, same data, same run.

Data: rossi (tests/fixtures/rossi.csv, 432 rows, 7 covariates) and BENCH_N (default 100,000)
generated subscriptions with 5 covariates (2 numbers, 2 yes/no, a 3-level category), written by
tests/fixtures/bench_cox.py, which also times lifelines' fit() on the same rows (median of 3;
rossi median of 5). Ours: examples/cox_bench.rs, the core fit alone (rows in memory, as
lifelines' fit() on a DataFrame) and the whole request in-process (JSON parsed, fitted,
serialised). Both fits compute Efron's partial likelihood to convergence, the standard errors,
the concordance and the baseline; ours also the proportional-hazards test. The coefficients
are checked equal (1e-6) before any figure is written. Run through scripts/bench_cox.sh.
"""
import csv
import json
import os
import platform
import subprocess
import sys

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("BENCH_DIR", "/tmp/retention-kpi-bench")
os.makedirs(WORK, exist_ok=True)
N = int(os.environ.get("BENCH_N", "100000"))
COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]

rossi_path = os.path.join(WORK, "cox_rossi.json")
with open(os.path.join(ROOT, "tests/fixtures/rossi.csv")) as f:
    rows = list(csv.DictReader(f))
with open(rossi_path, "w") as out:
    json.dump({"covariates": COVARIATES, "observations": [
        {"duration": float(r["week"]), "observed": r["arrest"] == "1",
         "covariates": {c: float(r[c]) for c in COVARIATES}} for r in rows]}, out)

big_path = os.path.join(WORK, f"cox_{N}.json")
env = dict(os.environ, BENCH_N=str(N))
theirs = json.loads(subprocess.run([sys.executable, "tests/fixtures/bench_cox.py", big_path], cwd=ROOT, env=env,
                                   check=True, capture_output=True, text=True).stdout)
with open(big_path) as f:
    body = json.load(f)
body["reference_levels"] = {"channel": "organic"}
with open(big_path, "w") as f:
    json.dump(body, f)
out = subprocess.run(["cargo", "run", "--quiet", "--release", "--example", "cox_bench", "--",
                      rossi_path, "21", big_path, "5"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
ours = [json.loads(line) for line in out.strip().splitlines()]
rossi_ours, big_ours = ours

for name, value in theirs["coef"].items():
    mine = big_ours["coef"][name]
    if abs(mine - value) > 1e-6 * max(1.0, abs(value)):
        sys.exit(f"coefficient {name}: ours {mine}, lifelines {value}")

cpu = platform.processor() or platform.machine()
lines = [
    f"Measured by `bash scripts/bench_cox.sh` ({theirs['generated_by']}; Python {platform.python_version()}; "
    f"{os.cpu_count()} cores, {cpu}). Efron ties; lifelines with its default fit options. The {N:,} "
    f"generated subscriptions ({theirs['events']:,} churned, whole-day durations with many ties) "
    "give the same coefficients to 1e-6 on both sides (checked by the script).",
    "",
    "| data | lifelines `fit()` | ours: core fit | ratio | ours: whole request (parse + fit + JSON) | ratio |",
    "|---|---|---|---|---|---|",
]
for label, mine, their_s in [("rossi (432 rows, 7 covariates)", rossi_ours, theirs["rossi_fit_seconds"]),
                             (f"{N:,} subscriptions, 5 covariates (6 columns)", big_ours, theirs["lifelines_fit_seconds"])]:
    lines.append(
        f"| {label} | {their_s * 1000:.1f} ms | {mine['core_median_s'] * 1000:.2f} ms | "
        f"{their_s / mine['core_median_s']:.0f}× | {mine['request_median_s'] * 1000:.1f} ms | "
        f"{their_s / mine['request_median_s']:.0f}× |")
lines += ["", f"Medians: ours of {rossi_ours['repeats']} and {big_ours['repeats']} runs; lifelines of 5 (rossi) and 3. "
          "Ratios are lifelines' time over ours: measured in the same run, so the machine's load "
          f"affects both. Ours took {big_ours['iterations']} Newton steps on the large set. Both fits compute the "
          "coefficients, standard errors, concordance and baseline; ours also the proportional-hazards test "
          "(R's cox.zph), which lifelines' fit() leaves to check_assumptions(). The whole request adds parsing "
          "100,000 JSON rows with a map of covariates each, which costs more than the fit."]
write_section("cox-benchmark", "Cox regression: retention-kpi against lifelines", lines)
