"""The one search loop every task runs, and the child's side of `hunt race --fault`.

The protocol is hunt's (src/fault.rs): HUNT_FAULT is "KIND INDEX HOST PAUSE_MS PATH";
the worker that opens file INDEX, before it reads a byte, writes "PID TID NS" to PATH
(created exclusively: one worker per run) and stops itself with SIGSTOP; the race then
kills it (SIGKILL) or resumes it (SIGCONT) from outside. hunt passes the value in the
task, since the pool's processes were started before the faulted run.
"""

import errno
import os
import signal
import stat
import threading
import time

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
    # hunt's line (src/fault.rs, `struck`): PID TID NS, NS on CLOCK_MONOTONIC.
    tid = threading.get_native_id()
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    os.write(fd, f"{os.getpid()} {tid} {now}\n".encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGSTOP)


# hunt's own open flags (src/fileset.rs): a symlink is refused, a FIFO never blocks.
OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
# hunt's code for "not a regular file" (ScanError::NotRegular).
NOT_REGULAR = -1


def holds(fd, needle):
    """True when the open file holds the needle, read in chunks that overlap."""
    keep = len(needle) - 1
    tail = b""
    size = 0
    while True:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            return False, size
        size += len(chunk)
        window = tail + chunk
        if needle in window:
            return True, size
        tail = window[-keep:] if keep else b""


def scan_one(index, path, needle, fault):
    """(found, bytes) for one file; OSError or NOT_REGULAR as hunt reports them."""
    fd = os.open(path, OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(mode):
            return None
        at_open(fault, index)
        return holds(fd, needle)
    finally:
        os.close(fd)


def search(files, needle_hex, fault, stopped):
    """Searches `files` ([index, path hex] pairs, in order) until the needle is found or
    `stopped()` says a sibling found it. Returns what hunt's report needs; each error is
    [index, errno] (or NOT_REGULAR), as hunt's ScanError codes them."""
    needle = bytes.fromhex(needle_hex)
    out = {"found": None, "scanned": 0, "bytes": 0, "errors": [], "stopped": False}
    for index, path_hex in files:
        if stopped():
            out["stopped"] = True
            break
        try:
            got = scan_one(index, bytes.fromhex(path_hex), needle, fault)
        except OSError as e:
            out["errors"].append([index, e.errno or errno.EIO])
            continue
        if got is None:
            out["errors"].append([index, NOT_REGULAR])
            continue
        hit, size = got
        out["scanned"] += 1
        out["bytes"] += size
        if hit:
            out["found"] = index
            break
    out["pid"] = os.getpid()
    return out
