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


# How long hunt's own connections (the client's, and the found key a task reads) ride
# out a Redis that went away: `hunt race --fault kill-broker` restarts the server in
# about half a second. hunt's coordinator waits as long (BROKER_PATIENCE, 5 s). Celery's
# and RQ's own connections keep their packages' settings: those are what is measured.
PATIENCE_S = 5.0


def patient_redis(url):
    """A redis-py client on hunt's URL that retries a command for up to PATIENCE_S
    while the server cannot be reached, then raises."""
    import redis
    from redis.backoff import ConstantBackoff
    from redis.retry import Retry

    step = 0.05
    return redis.Redis.from_url(
        redis_url(url),
        retry=Retry(ConstantBackoff(step), int(PATIENCE_S / step)),
        # OSError: a refused connect (the server not yet listening again).
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError],
    )
