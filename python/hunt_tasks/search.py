"""The one search loop every task runs, and the child's side of `hunt race --fault`.

The protocol is hunt's (src/fault.rs): HUNT_FAULT is "KIND INDEX HOST PAUSE_MS PATH";
the worker that opens file INDEX, before it reads a byte, writes its pid to PATH
(created exclusively: one worker per run) and stops itself with SIGSTOP; the race then
kills it (SIGKILL) or resumes it (SIGCONT) from outside. hunt passes the value in the
task, since the pool's processes were started before the faulted run.
"""

import os
import signal

CHUNK = 1 << 20


def at_open(fault, index):
    """Meets the armed fault if `index` is its file."""
    if not fault:
        return
    parts = fault.split(" ", 4)
    if len(parts) != 5 or int(parts[1]) != index:
        return
    try:
        fd = os.open(parts[4], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another worker of this run met it first
    os.write(fd, f"{os.getpid()}\n".encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGSTOP)


def holds(f, needle):
    """True when the open file holds the needle, read in chunks that overlap."""
    keep = len(needle) - 1
    tail = b""
    size = 0
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            return False, size
        size += len(chunk)
        window = tail + chunk
        if needle in window:
            return True, size
        tail = window[-keep:] if keep else b""


def search(files, needle_hex, fault, stopped):
    """Searches `files` ([index, path hex] pairs, in order) until the needle is found or
    `stopped()` says a sibling found it. Returns what hunt's report needs."""
    needle = bytes.fromhex(needle_hex)
    out = {"found": None, "scanned": 0, "bytes": 0, "errors": [], "stopped": False}
    for index, path_hex in files:
        if stopped():
            out["stopped"] = True
            break
        try:
            with open(bytes.fromhex(path_hex), "rb", buffering=0) as f:
                at_open(fault, index)
                hit, size = holds(f, needle)
        except OSError as e:
            out["errors"].append([index, e.errno or 5])
            continue
        out["scanned"] += 1
        out["bytes"] += size
        if hit:
            out["found"] = index
            break
    out["pid"] = os.getpid()
    return out
