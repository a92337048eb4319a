"""`rq worker -c hunt_tasks.rq_settings`: the server hunt gives in HUNT_BROKER_URL."""

import os

from . import redis_url

REDIS_URL = redis_url(os.environ["HUNT_BROKER_URL"])
