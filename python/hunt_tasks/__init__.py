"""hunt's tasks for the real task queues it races: Celery (celery_app) and RQ (rq_tasks).

A task searches the files it is given (explicit paths, in hunt's search order) for the
needle and returns the first file index that holds it, or None. The long-lived client
(client.py) takes hunts from hunt over a Redis list and submits them as tasks.
"""


def redis_url(url):
    """hunt's URL as redis-py takes it (a Unix socket is `unix://PATH`)."""
    if url.startswith("redis+unix://"):
        return "unix://" + url[len("redis+unix://"):]
    return url


def kombu_url(url):
    """hunt's URL as Celery's broker and result backend take it (`redis+socket://PATH`)."""
    if url.startswith("redis+unix://"):
        return "redis+socket://" + url[len("redis+unix://"):]
    return url
