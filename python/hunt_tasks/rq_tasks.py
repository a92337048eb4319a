"""The RQ job hunt races: the same search, run by `rq worker` processes (each forks a
work horse per job). A sibling's find (the found key) stops it between files; the client
also sends RQ's stop-job command to the jobs still running."""

import os

from rq import get_current_job

from . import patient_redis
from . import search as hunt_search

_redis = None


def _conn():
    """hunt's own connection (the found key, the done list), patient through a broker
    restart; RQ's bookkeeping keeps RQ's connection, as it ships."""
    global _redis
    if _redis is None:
        _redis = patient_redis(os.environ["HUNT_BROKER_URL"])
    return _redis


def found_key(hunt):
    return f"hunt:py:found:{hunt}"


def done_key(hunt):
    return f"hunt:py:done:{hunt}"


def search(hunt, files, needle_hex, fault):
    job = get_current_job()
    conn = _conn()
    out = hunt_search.search(
        files, needle_hex, fault, lambda: conn.exists(found_key(hunt)) > 0
    )
    # Tells the client at once (RQ has no push of results); the status poll catches
    # the jobs that die.
    import json

    conn.rpush(done_key(hunt), json.dumps({"id": job.id, "result": out}))
    return out


def ping():
    return os.getpid()
