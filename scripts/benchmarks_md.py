"""Writes one section of BENCHMARKS.md between its markers, adding it under a heading when new
(and renaming the heading just above the markers when it changed)."""
import os
import re
import time

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")


def write_section(marker, heading, lines):
    block = "\n".join([f"<!-- {marker}:start -->", *lines, f"<!-- {marker}:end -->"])
    text = open(PATH).read() if os.path.exists(PATH) else "# Benchmarks\n"
    pattern = re.compile(rf"(## [^\n]*\n\n)?<!-- {marker}:start -->.*?<!-- {marker}:end -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda m: (f"## {heading}\n\n" if m.group(1) else "") + block, text)
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    with open(PATH, "w") as out:
        out.write(text)
    print(block)


def timed(fn, repeats):
    """The median of `repeats` runs of `fn` in seconds, and the last run's result."""
    seconds, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - t)
    seconds.sort()
    return seconds[len(seconds) // 2], result
