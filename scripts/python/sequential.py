#!/usr/bin/env python3
"""The blog's sequential hunt: one loop over the files until the needle turns up."""

import sys

from hunt_common import holds, index_at, load, parse_args, report


def main():
    args = parse_args(__doc__)
    paths, needle = load(args.dir, args.needle)
    n = len(paths)
    errors = 0
    for pos in range(n):
        i = index_at(pos, args.rotate, n)
        try:
            if holds(paths[i], needle):
                report(paths, needle, i, errors)
        except OSError as e:
            print(f"warning: {paths[i]}: {e.strerror}", file=sys.stderr)
            errors += 1
    report(paths, needle, None, errors)


if __name__ == "__main__":
    main()
