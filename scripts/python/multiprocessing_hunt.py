#!/usr/bin/env python3
"""The blog's multiprocessing hunt, with a stop flag that really is shared: K processes
on contiguous ranges of the files, each checking the flag before each file.

The blog's bug: its processes tested and set a module-level global (`treasure_found`).
Every process has its own copy of the interpreter's memory (forked, or re-imported under
spawn), so the process that found the treasure set only its own copy: its siblings never
saw it and read their whole ranges, and the parent's copy never changed, so the parent
could not even print the answer. Here the flag is a multiprocessing.Event and the answer
a multiprocessing.Value, both in memory shared by all the processes.
"""

import multiprocessing
import sys

from hunt_common import holds, index_at, load, parse_args, report, split_ranges


def worker(paths, needle, rotate, positions, stop, found, errors):
    n = len(paths)
    for pos in positions:
        if stop.is_set():
            return
        i = index_at(pos, rotate, n)
        try:
            hit = holds(paths[i], needle)
        except OSError as e:
            print(f"warning: {paths[i]}: {e.strerror}", file=sys.stderr)
            with errors.get_lock():
                errors.value += 1
            continue
        if hit:
            with found.get_lock():
                if found.value < 0:
                    found.value = i
            stop.set()
            return


def main():
    args = parse_args(__doc__.splitlines()[0], workers=True)
    paths, needle = load(args.dir, args.needle)
    # fork, as on Linux by default until Python 3.14: the children inherit the file list
    # instead of having it pickled to them, as hunt's fork strategy does.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    stop = ctx.Event()
    found = ctx.Value("q", -1)
    errors = ctx.Value("q", 0)
    procs = [
        ctx.Process(target=worker, args=(paths, needle, args.rotate, r, stop, found, errors))
        for r in split_ranges(len(paths), args.workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    died = [p for p in procs if p.exitcode != 0]
    if died and found.value < 0:
        print(f"error: {len(died)} worker process(es) died, so the needle may be there", file=sys.stderr)
        sys.exit(2)
    report(paths, needle, found.value, errors.value)


if __name__ == "__main__":
    main()
