"""Instructions per request of the release binary, by callgrind (see instructions.sh).

For each binary and request: start the server under callgrind, drive it with wrk (1 thread,
4 connections, SECONDS), stop it with SIGTERM, and divide the instructions by the requests
answered, after subtracting a run that answered a single request (start-up and shut-down).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchmarks_md import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD = os.path.join(ROOT, "scripts/load")
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "6"))
PORT = int(os.environ.get("INSTRUCTIONS_PORT", "18590"))
BODIES = {
    "/crr": {"start_customers": 100, "new_customers": 20, "end_customers": 95},
    "/nps": {"promoters": 200, "passives": 120, "detractors": 80},
}


def instructions(binary, path, seconds, work):
    out = os.path.join(work, "callgrind.out")
    env = dict(os.environ, PORT=str(PORT), HOST="127.0.0.1", RUST_LOG="warn")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary],
        env=env, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server under valgrind did not start")
        requests = 1
        if seconds:
            wrk_env = dict(os.environ)
            script = "get.lua"
            if path in BODIES:
                body_file = os.path.join(work, "body.json")
                with open(body_file, "w") as f:
                    json.dump(BODIES[path], f)
                wrk_env["BODY_FILE"] = body_file
                script = "post.lua"
            text = subprocess.run(
                ["wrk", "-t1", "-c4", f"-d{seconds}s", "-s", os.path.join(LOAD, script), f"http://127.0.0.1:{PORT}{path}"],
                env=wrk_env, capture_output=True, text=True, check=True,
            ).stdout
            stats = json.loads(re.search(r"^STATS (.*)$", text, re.M).group(1))
            assert stats["errors"]["status"] == 0, stats
            requests += stats["requests"]
    finally:
        server.terminate()
        server.wait(timeout=120)
    with open(out) as f:
        total = next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))
    return total, requests


def measure(binary, work):
    idle, _ = instructions(binary, "/healthz", 0, work)
    figures = {}
    for path in ["/healthz", "/crr", "/nps"]:
        total, requests = instructions(binary, path, SECONDS, work)
        figures[path] = ((total - idle) / (requests - 1), requests - 1)
    return figures


def build(revision, work):
    """The release binary of a git revision, built in a worktree of its own."""
    tree = os.path.join(work, "tree")
    subprocess.run(["git", "worktree", "add", "--detach", tree, revision], cwd=ROOT, check=True, capture_output=True)
    try:
        target = os.environ.get("BASE_TARGET_DIR", os.path.join(tempfile.gettempdir(), "retention-kpi-base-target"))
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=tree, check=True,
                       env=dict(os.environ, CARGO_TARGET_DIR=target))
        binary = os.path.join(work, "base-binary")
        subprocess.run(["cp", os.path.join(target, "release/retention-kpi"), binary], check=True)
        return binary
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT, check=True)


def main():
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    base_revision = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as work:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        columns = [(f"this tree ({head}{' + changes' if dirty else ''})", measure(os.path.join(ROOT, "target/release/retention-kpi"), work))]
        if base_revision:
            short = subprocess.run(["git", "rev-parse", "--short", base_revision], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
            label = base_revision if base_revision.startswith(short) else f"{base_revision} ({short})"
            columns.insert(0, (label, measure(build(base_revision, work), work)))
    header = "| request | " + " | ".join(name for name, _ in columns) + (" | change |" if base_revision else " |")
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `scripts/instructions.sh{' ' + base_revision if base_revision else ''}`: instructions the server "
        f"executes per request (valgrind callgrind, user space: the kernel's network work and wrk's are not counted), wrk with 1 thread and "
        f"4 connections for {SECONDS} s per request, start-up and shut-down subtracted. Unlike times, the counts barely move with the machine's load (about 1 % between runs here).",
        "",
        header,
        "|---" * (len(columns) + 1 + bool(base_revision)) + "|",
    ]
    for path in ["/healthz", "/crr", "/nps"]:
        cells = [f"{figures[path][0]:,.0f} ({figures[path][1]:,} requests)" for _, figures in columns]
        row = f"| {'GET' if path == '/healthz' else 'POST'} {path} | " + " | ".join(cells)
        if base_revision:
            before, after = columns[0][1][path][0], columns[1][1][path][0]
            row += f" | {(after - before) / before * 100:+.0f} %"
        lines.append(row + " |")
    write_section("instructions-benchmark", "Instructions per request (callgrind)", lines)


if __name__ == "__main__":
    main()
