"""Shared by the Python peers of hunt: arguments, the file list, the check, the answer.

They behave like `hunt search` so that hyperfine compares like with like:
- the same search order: with a manifest.json, files file_0.txt .. file_{N-1}.txt in
  index order; otherwise every regular file below the folder, sorted by path, symlinks
  not followed;
- the same rotation: search position p visits file (p + rotate) % N;
- the same check: the needle anywhere in the file's bytes (the blog looked at line 0
  only, `f.readlines()[0] == "Treasure\\n"`, which works on its own data set alone);
- the same exit codes: 0 found (and the file printed), 1 not found, 2 error or unknown.
"""

import argparse
import json
import os
import sys

MANIFEST = "manifest.json"
DEFAULT_NEEDLE = b"Treasure"


def parse_args(description, workers=False):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("dir", help="data set folder (from `hunt generate` or generate.py)")
    p.add_argument("--needle", help="bytes to look for [default: the manifest's, or Treasure]")
    p.add_argument("--rotate", type=int, default=0, metavar="K",
                   help="start at search position K and wrap around, like hunt search --rotate")
    if workers:
        p.add_argument("--workers", "-j", type=int, default=os.cpu_count() or 1, metavar="K",
                       help="number of workers [default: available cores]")
    args = p.parse_args()
    if workers and not 1 <= args.workers <= 1024:
        fail(f"--workers must be between 1 and 1024 (got {args.workers})")
    if args.rotate < 0:
        fail(f"--rotate must be 0 or more (got {args.rotate})")
    if args.needle == "":
        fail("--needle is empty: give the text to look for, e.g. --needle Treasure")
    return args


def fail(message):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(2)


def load(folder, needle_arg):
    """Returns (paths, needle): the files in index order and the needle as bytes."""
    if not os.path.isdir(folder):
        fail(f"{folder} is not a folder: pass a data set folder, e.g. one from `hunt generate`")
    needle = os.fsencode(needle_arg) if needle_arg is not None else None
    manifest = os.path.join(folder, MANIFEST)
    try:
        with open(manifest, "rb") as f:
            m = json.load(f)
    except FileNotFoundError:
        m = None
    except (OSError, ValueError) as e:
        fail(f"{manifest}: cannot read the manifest ({e}); regenerate with `hunt generate --force --dir {folder}`")
    if m is not None:
        try:
            n = int(m["files"])
            if needle is None:
                needle = m["needle"].encode()
        except (KeyError, TypeError, ValueError) as e:
            fail(f"{manifest}: malformed manifest ({e}); regenerate with `hunt generate --force --dir {folder}`")
        return [os.path.join(folder, f"file_{i}.txt") for i in range(n)], needle
    paths = []
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.isfile(path) and not os.path.islink(path):
                paths.append(os.fsencode(path))
    if not paths:
        fail(f"{folder} holds no files to search")
    paths.sort()
    return [os.fsdecode(p) for p in paths], needle or DEFAULT_NEEDLE


def index_at(pos, rotate, n):
    return (pos + rotate) % n


def holds(path, needle):
    """True when the file holds the needle; raises OSError when it cannot be read."""
    with open(path, "rb") as f:
        return needle in f.read()


def report(paths, needle, found_index, errors):
    """Prints the answer like hunt and exits with hunt's code."""
    if found_index is not None and found_index >= 0:
        print(f"found {paths[found_index]} (index {found_index})")
        sys.exit(0)
    if errors:
        print(f"error: {errors} file(s) could not be read, so the needle may be there", file=sys.stderr)
        sys.exit(2)
    print(f"not found: no file holds {needle.decode(errors='replace')!r}")
    sys.exit(1)


def split_ranges(n, parts):
    """Contiguous ranges of search positions as even as possible, as hunt and the blog do."""
    return [range(n * i // parts, n * (i + 1) // parts) for i in range(parts)]
