#!/usr/bin/env python3
"""Lists the frame sizes of a Swift binary's async functions, largest first.

A task holds the frame of every async function on its call chain while it is suspended, so for
work that waits by the thousand (the worker's upstream calls) these sizes are memory per waiting
task. Each async function has an "async function pointer" (a symbol ending in `Tu`): a 32-bit
relative address and then the 32-bit size of the context its caller allocates for it.

    scripts/async-frames.py .build-release/release/saas-worker [FILTER] [--top N]

FILTER keeps the demangled names containing it (e.g. JobRunner). Functions the optimizer calls
directly, or inlined everywhere, may have no such symbol.
"""
import argparse
import re
import struct
import subprocess
import sys


def sections(binary):
    """(address, file offset, size) of each ELF section."""
    out = subprocess.run(["readelf", "-W", "-S", binary], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and int(m.group(1), 16):
            found.append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16)))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("filter", nargs="?", default="")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    symbols = subprocess.run(["nm", "--defined-only", args.binary], capture_output=True, text=True, check=True).stdout
    pointers = [(int(p[0], 16), p[2]) for p in (line.split() for line in symbols.splitlines()) if len(p) == 3 and p[2].endswith("Tu")]
    table = sections(args.binary)
    with open(args.binary, "rb") as f:
        data = f.read()
    sizes = []
    for address, name in pointers:
        for start, offset, size in table:
            if start <= address < start + size:
                _, context = struct.unpack_from("<iI", data, offset + address - start)
                sizes.append((context, name))
                break
    sizes.sort(reverse=True)
    names = subprocess.run(
        ["swift", "demangle", "--simplified"], input="\n".join(n for _, n in sizes), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    shown = 0
    for (size, _), name in zip(sizes, names):
        name = name.removeprefix("async function pointer to ")
        if args.filter in name:
            print(f"{size:7d}  {name[:160]}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    sys.exit(main())
