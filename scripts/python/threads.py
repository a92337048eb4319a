#!/usr/bin/env python3
"""The blog's threading hunt: K threads on contiguous ranges of the files, one shared
stop flag checked before each file.

Threads share memory, so the blog's global flag did work here; what limits this model is
the GIL: only one thread runs Python code at a time, and only the time spent inside
open() and read() (which release the GIL) overlaps.
"""

import sys
import threading

from hunt_common import holds, index_at, load, parse_args, report, split_ranges


def main():
    args = parse_args(__doc__.splitlines()[0], workers=True)
    paths, needle = load(args.dir, args.needle)
    n = len(paths)
    stop = threading.Event()
    lock = threading.Lock()
    # The answer travels in its own slot, not in the flag: the blog stored the index in
    # the flag (`treasure_found = i`), so a treasure in file 0 read as "not found".
    result = {"index": None, "errors": 0}

    def worker(positions):
        for pos in positions:
            if stop.is_set():
                return
            i = index_at(pos, args.rotate, n)
            try:
                hit = holds(paths[i], needle)
            except OSError as e:
                print(f"warning: {paths[i]}: {e.strerror}", file=sys.stderr)
                with lock:
                    result["errors"] += 1
                continue
            if hit:
                with lock:
                    if result["index"] is None:
                        result["index"] = i
                stop.set()
                return

    threads = [threading.Thread(target=worker, args=(r,)) for r in split_ranges(n, args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report(paths, needle, result["index"], result["errors"])


if __name__ == "__main__":
    main()
