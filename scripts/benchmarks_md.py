"""Writes one section of BENCHMARKS.md between its markers, adding it under a heading when new."""
import os
import re

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")


def write_section(marker, heading, lines):
    block = "\n".join([f"<!-- {marker}:start -->", *lines, f"<!-- {marker}:end -->"])
    text = open(PATH).read() if os.path.exists(PATH) else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- {marker}:start -->.*?<!-- {marker}:end -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    with open(PATH, "w") as out:
        out.write(text)
    print(block)
