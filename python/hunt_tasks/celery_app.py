"""The Celery app hunt races, in two configurations chosen by HUNT_CELERY_MODE:

- "defaults": Celery's own (early ack, a prefetch of 4 per child);
- "reliable": acks_late, task_reject_on_worker_lost, worker_prefetch_multiplier 1, and a
  Redis visibility_timeout of HUNT_LEASE_S (hunt's lease).

The broker and the result backend are the Redis at HUNT_BROKER_URL.
"""

import os

from celery import Celery

from . import kombu_url, patient_redis
from . import search as hunt_search

URL = os.environ.get("HUNT_BROKER_URL", "redis://127.0.0.1:6379/0")
MODE = os.environ.get("HUNT_CELERY_MODE", "defaults")
QUEUE = os.environ.get("HUNT_QUEUE", "hunt")

app = Celery("hunt_tasks", broker=kombu_url(URL), backend=kombu_url(URL))
app.conf.task_default_queue = QUEUE
app.conf.result_expires = 3600
app.conf.worker_hijack_root_logger = False
if MODE == "reliable":
    lease = float(os.environ.get("HUNT_LEASE_S", "5"))
    app.conf.task_acks_late = True
    app.conf.task_reject_on_worker_lost = True
    app.conf.worker_prefetch_multiplier = 1
    app.conf.broker_transport_options = {"visibility_timeout": lease}
    app.conf.result_backend_transport_options = {"visibility_timeout": lease}

_redis = None


def found_key(hunt):
    return f"hunt:py:found:{hunt}"


def _conn():
    global _redis
    if _redis is None:
        _redis = patient_redis(URL)
    return _redis


@app.task(name="hunt.search")
def search(hunt, files, needle_hex, fault):
    """Searches its files; a sibling's find (the found key) stops it between files."""
    conn = _conn()
    return hunt_search.search(
        files, needle_hex, fault, lambda: conn.exists(found_key(hunt)) > 0
    )


@app.task(name="hunt.ping")
def ping():
    return os.getpid()
