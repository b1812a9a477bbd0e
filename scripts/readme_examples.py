"""Re-runs every ```console example of README.md against a release server on port 8080 and
writes the real output back under its command. Run from the repository root after
`cargo build --release` (needs curl and jq): python3 scripts/readme_examples.py
"""
import re
import subprocess
import time
import urllib.request

README = "README.md"
server = subprocess.Popen(["./target/release/retention-kpi"], env={"PORT": "8080", "HOST": "127.0.0.1", "RUST_LOG": "warn", "PATH": "/usr/bin:/bin"})
try:
    for _ in range(100):
        try:
            urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    text = open(README).read()

    def rerun(match):
        command = match.group(1)
        output = subprocess.run(["bash", "-c", command], capture_output=True, text=True).stdout.rstrip("\n")
        return f"```console\n$ {command}\n{output}\n```"

    text = re.sub(r"```console\n\$ (.*?)\n.*?```", rerun, text, flags=re.S)
    open(README, "w").write(text)
finally:
    server.terminate()
    server.wait()
