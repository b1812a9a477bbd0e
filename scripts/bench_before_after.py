"""What the purchase models' predictions cost now against an earlier build, same run: the CDNOW
sample (2,357 customers) on /models/bgnbd and /models/pareto-nbd with 39-week predictions, with
and without delta intervals, medians of 9 requests alternating between the two release servers.
Writes the "predictions-before-after" section of BENCHMARKS.md. Run from the repository root
after `cargo build --release`, with the earlier build's binary in BASE_BIN, e.g.
    git worktree add /tmp/old cb344b1 && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old/target cargo build --release)
    BASE_BIN=/tmp/old/target/release/retention-kpi BASE_LABEL=cb344b1 python3 scripts/bench_before_after.py
"""
import os
import sys
import json, subprocess, time, urllib.request, statistics
rows=[l.split(",") for l in open("tests/fixtures/cdnow_sample_summary.csv").read().splitlines()[1:]]
cust=[{"frequency":float(r[1]),"recency":float(r[2]),"T":float(r[3])} for r in rows]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmarks_md import write_section
BASE = os.environ.get("BASE_LABEL", "base")
servers={"base":(os.environ["BASE_BIN"],18091),"HEAD":("./target/release/retention-kpi",18092)}
procs=[subprocess.Popen([b,"--port",str(p)],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL) for b,p in servers.values()]
time.sleep(2)
def post(port,path,body):
    req=urllib.request.Request(f"http://127.0.0.1:{port}{path}",data=json.dumps(body).encode(),headers={"content-type":"application/json"})
    t=time.perf_counter(); urllib.request.urlopen(req).read(); return time.perf_counter()-t
cases=[("/models/bgnbd",{"customers":cust,"predict":{"horizon":39}}),("/models/pareto-nbd",{"customers":cust,"predict":{"horizon":39}}),
       ("/models/bgnbd",{"customers":cust,"predict":{"horizon":39,"uncertainty":{"method":"none"}}}),("/models/pareto-nbd",{"customers":cust,"predict":{"horizon":39,"uncertainty":{"method":"none"}}})]
lines=[f"`scripts/bench_before_after.py` against {BASE} (CDNOW, 2,357 customers, horizon 39; medians of 9 requests alternating between the two servers):", "", f"| request | {BASE} | this build | ratio |", "|---|---|---|---|"]
try:
    for path,body in cases:
        times={k:[] for k in servers}
        for _ in range(9):
            for k,(b,p) in servers.items(): times[k].append(post(p,path,body))
        m={k:statistics.median(v)*1000 for k,v in times.items()}
        label=path+(" (no intervals)" if body["predict"].get("uncertainty") else " (delta)")
        lines.append(f"| `{label}` | {m['base']:.1f} ms | {m['HEAD']:.1f} ms | {m['HEAD']/m['base']:.2f}× |")
    lines += ["", "Every prediction now carries `p_no_purchase` and, with the delta method, its interval: for Pareto/NBD that is two more hypergeometric series per customer and per gradient evaluation."]
    write_section("predictions-before-after", "Purchase predictions: cost of the chance of no purchase", lines)
    print("\n".join(lines))
finally:
    for p in procs: p.terminate()
