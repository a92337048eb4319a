#!/usr/bin/env python3
"""A plain Python generator of the data set `hunt generate` writes, to compare the speed
of generation: the same files (file_{i}.txt holding N lines of "Not a treasure", one
holding "Treasure"), the same sizes, and a manifest.json that `hunt search` reads.

The treasure's file and line are drawn with Python's random from --seed, not with hunt's
ChaCha8 generator, so the same seed puts the treasure elsewhere than `hunt generate`
does; pass --treasure-at (and --treasure-line) to get the same set byte for byte.

Fixed from the blog's creating_treasure(): randint(1, N) could draw N, a file that does
not exist, leaving no treasure at all, and could never draw file 0.

It writes only into a new or empty folder and never deletes anything.
"""

import argparse
import json
import os
import random
import sys
import time

PLAIN_LINE = b"Not a treasure\n"
TREASURE_LINE = b"Treasure\n"


def fail(message):
    print(f"generate.py: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir", help="folder to write: new or empty")
    p.add_argument("--files", type=int, help="number of files [default: 10000]")
    p.add_argument("--lines", type=int, help="lines per file [default: 1000, --blog 10000]")
    p.add_argument("--seed", type=int, help="seed of the treasure's place [default: random]")
    p.add_argument("--treasure-at", type=int, metavar="I", help="put the treasure in file I")
    p.add_argument("--treasure-line", type=int, metavar="L", help="put the treasure on line L")
    p.add_argument("--blog", action="store_true",
                   help="the blog's set: 10000 files of 10000 lines, the treasure file all Treasure lines")
    a = p.parse_args()
    files = a.files if a.files is not None else 10_000
    lines = a.lines if a.lines is not None else (10_000 if a.blog else 1_000)
    if files < 1:
        fail("--files must be at least 1 (one file must hold the treasure)")
    if lines < 1:
        fail("--lines must be at least 1 (the treasure needs a line)")
    seed = a.seed if a.seed is not None else random.randrange(2**63)
    if not 0 <= seed < 2**64:
        fail("--seed must be between 0 and 2^64 - 1")
    rng = random.Random(seed)
    index = rng.randrange(files)
    line = rng.randrange(lines)
    if a.treasure_at is not None:
        if not 0 <= a.treasure_at < files:
            fail(f"--treasure-at {a.treasure_at} is past the last file: files are numbered 0 to {files - 1}")
        index = a.treasure_at
    if a.treasure_line is not None:
        if a.blog:
            fail("--treasure-line does not go with --blog: every line of the treasure file is the treasure")
        if not 0 <= a.treasure_line < lines:
            fail(f"--treasure-line {a.treasure_line} is past the last line: lines are numbered 0 to {lines - 1}")
        line = a.treasure_line

    if os.path.lexists(a.dir):
        if not os.path.isdir(a.dir) or os.path.islink(a.dir):
            fail(f"{a.dir} is not a folder: pass a new or empty folder")
        if os.listdir(a.dir):
            fail(f"{a.dir} is not empty: generate.py writes only into a new or empty folder; choose another")
    os.makedirs(a.dir, exist_ok=True)

    started = time.perf_counter()
    # hunt's marker for a set in progress: an interrupted run leaves a folder that
    # `hunt search` calls incomplete and `hunt generate --force` can clean up.
    partial = os.path.join(a.dir, ".hunt-partial.json")
    with open(partial, "w") as f:
        json.dump({"format_version": 1, "files": files}, f)

    plain = PLAIN_LINE * lines
    if a.blog:
        treasure = TREASURE_LINE * lines
        treasure_line = None
    else:
        treasure = PLAIN_LINE * line + TREASURE_LINE + PLAIN_LINE * (lines - line - 1)
        treasure_line = line
    for i in range(files):
        with open(os.path.join(a.dir, f"file_{i}.txt"), "wb") as f:
            f.write(treasure if i == index else plain)

    manifest = {
        "format_version": 1,
        "generator": "scripts/python/generate.py",
        "files": files,
        "lines": lines,
        "seed": seed,
        "treasure_index": index,
        "treasure_file": f"file_{index}.txt",
        "treasure_line": treasure_line,
        "needle": TREASURE_LINE.decode().strip(),
        "total_bytes": (files - 1) * len(plain) + len(treasure),
        "preset": "blog" if a.blog else None,
    }
    tmp = os.path.join(a.dir, ".hunt-manifest.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.rename(tmp, os.path.join(a.dir, "manifest.json"))
    os.remove(partial)
    elapsed = time.perf_counter() - started
    where = "every line" if treasure_line is None else f"line {treasure_line}"
    print(f"wrote {files} files ({manifest['total_bytes'] / 1e6:.1f} MB) to {a.dir} in {elapsed:.2f} s; "
          f"the treasure is in file_{index}.txt ({where}); seed {seed}")


if __name__ == "__main__":
    main()
