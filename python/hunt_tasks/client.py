"""The long-lived submitting side, started by hunt with the worker pool, so that no timed
hunt pays for starting Python or importing Celery.

    python -m hunt_tasks.client NAME KIND URL READY_KEY

KIND is celery or rq; NAME (celery, celery-reliable, rq) names the request list. Once
the pool answers a ping, it sets READY_KEY, then serves hunts one at a
time: hunt pushes a request (JSON: id, tasks, needle_hex, fault, lease_s) to
hunt:py:requests:NAME and reads events from hunt:py:reply:ID:
{"event": "accepted"}, {"event": "found", ...} at the first find, then
{"event": "done", "tasks": [...], "unsettled": N}.
"""

import json
import os
import signal
import sys
import time
import traceback

import redis

from . import patient_redis


def reply(conn, hunt, **event):
    conn.rpush(f"hunt:py:reply:{hunt}", json.dumps(event))
    conn.expire(f"hunt:py:reply:{hunt}", 600)


def settle(states, i, state, result=None, why=None):
    if states[i] is None:
        states[i] = {"task": i, "state": state, "result": result, "why": why}


class CeleryPool:
    def __init__(self, conn):
        from . import celery_app

        self.app = celery_app.app
        self.mod = celery_app
        self.conn = conn

    def ping(self, timeout):
        return self.mod.ping.apply_async().get(timeout=timeout)

    def hunt(self, req):
        from celery.result import ResultSet

        hunt = req["id"]
        fault = req.get("fault")
        results = [
            self.mod.search.apply_async((hunt, files, req["needle_hex"], fault))
            for files in req["tasks"]
        ]
        index_of = {r.id: i for i, r in enumerate(results)}
        states = [None] * len(results)

        def take(i, status, result):
            """Settles task i; true at the first find."""
            if states[i] is not None:
                return False
            if status != "SUCCESS":
                settle(states, i, status, why=str(result))
                return False
            settle(states, i, "SUCCESS", result)
            if not result or result.get("found") is None:
                return False
            self.conn.set(self.mod.found_key(hunt), 1, ex=600)
            reply(self.conn, hunt, event="found", index=result["found"], task=i,
                  worker=f"celery child pid {result.get('pid')}")
            pending = [r.id for r in results if states[index_of[r.id]] is None]
            if pending:
                self.app.control.revoke(pending)
            return True

        # The default poll interval of Celery's result API is 0.5 s: 10 ms here, so
        # that a find is heard when it comes.
        for task_id, meta in ResultSet(results).iter_native(timeout=None, interval=0.01):
            i = index_of.get(task_id)
            if i is not None and take(i, meta.get("status"), meta.get("result")):
                self.after_find(results, index_of, states, req["lease_s"] + 1.0)
                return states
        # iter_native can end with results it took but never yielded: look at each
        # one left until every task is settled.
        while any(s is None for s in states):
            for r in results:
                i = index_of[r.id]
                if states[i] is None and r.state in ("SUCCESS", "FAILURE", "REVOKED"):
                    if take(i, r.state, r.result):
                        self.after_find(results, index_of, states, req["lease_s"] + 1.0)
                        return states
            time.sleep(0.01)
        return states

    def after_find(self, results, index_of, states, patience):
        """Siblings after the find: revoked or stopped by the found key; a worker that
        holds one past `patience` leaves it unsettled."""
        from celery.result import ResultSet

        left = [r for r in results if states[index_of[r.id]] is None]
        if not left:
            return
        # One patience for both waits below, not one each.
        until = time.monotonic() + patience
        try:
            for task_id, meta in ResultSet(left).iter_native(timeout=patience, interval=0.01):
                i = index_of[task_id]
                settle(states, i, meta.get("status"), meta.get("result")
                       if meta.get("status") == "SUCCESS" else None,
                       None if meta.get("status") == "SUCCESS" else str(meta.get("result")))
        except Exception as e:
            print(f"hunt_tasks.client: after the find: {e!r}", file=sys.stderr)
        # iter_native can end with results it took but never yielded: look at what is
        # left until it settles or the patience runs out.
        while True:
            for r in left:
                i = index_of[r.id]
                if states[i] is None and r.state in ("SUCCESS", "FAILURE", "REVOKED"):
                    ok = r.state == "SUCCESS"
                    settle(states, i, r.state, r.result if ok else None,
                           None if ok else str(r.result))
            if all(states[index_of[r.id]] is not None for r in left):
                return
            if time.monotonic() > until:
                return
            time.sleep(0.01)


class RqPool:
    def __init__(self, conn):
        from rq import Queue

        from . import rq_tasks

        self.mod = rq_tasks
        self.conn = conn
        self.queue = Queue(os.environ.get("HUNT_QUEUE", "hunt"), connection=conn)

    def ping(self, timeout):
        job = self.queue.enqueue(self.mod.ping)
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            if job.get_status(refresh=True) == "finished":
                return job.return_value()
            time.sleep(0.01)
        raise TimeoutError("no rq worker ran the ping")

    def hunt(self, req):
        from rq import Queue
        from rq.command import send_stop_job_command

        hunt = req["id"]
        fault = req.get("fault")
        jobs = self.queue.enqueue_many([
            Queue.prepare_data(self.mod.search, args=(hunt, files, req["needle_hex"], fault),
                               result_ttl=600, failure_ttl=600)
            for files in req["tasks"]
        ])
        index_of = {j.id: i for i, j in enumerate(jobs)}
        states = [None] * len(jobs)
        done_key = self.mod.done_key(hunt)
        found_at = None
        polled = time.monotonic()
        while any(s is None for s in states):
            if found_at is not None and time.monotonic() - found_at > req["lease_s"] + 1.0:
                break
            item = self.conn.blpop(done_key, timeout=0.05)
            if item:
                msg = json.loads(item[1])
                i = index_of.get(msg["id"])
                if i is None:
                    continue
                out = msg["result"]
                settle(states, i, "SUCCESS", out)
                if out.get("found") is not None and found_at is None:
                    found_at = time.monotonic()
                    self.conn.set(self.mod.found_key(hunt), 1, ex=600)
                    reply(self.conn, hunt, event="found", index=out["found"], task=i,
                          worker=f"rq work horse pid {out.get('pid')}")
                    for jid in self.queue.started_job_registry.get_job_ids():
                        if jid in index_of and states[index_of[jid]] is None:
                            try:
                                send_stop_job_command(self.conn, jid)
                            except Exception:
                                pass  # it ended meanwhile
            if time.monotonic() - polled > 0.1:
                polled = time.monotonic()
                self.poll(jobs, index_of, states)
        self.conn.delete(done_key)
        return states

    def poll(self, jobs, index_of, states):
        """Catches the jobs that end without telling: failed (a killed work horse),
        stopped, canceled."""
        left = [j.id for j in jobs if states[index_of[j.id]] is None]
        pipe = self.conn.pipeline(transaction=False)
        for jid in left:
            pipe.hget(f"rq:job:{jid}", "status")
        for jid, status in zip(left, pipe.execute()):
            status = (status or b"").decode()
            if status in ("failed", "stopped", "canceled"):
                why = self.conn.hget(f"rq:job:{jid}", "exc_info")
                why = (why or b"").decode(errors="replace").strip().splitlines()
                settle(states, index_of[jid], status.upper(), why=why[-1] if why else status)


def main():
    name, kind, url, ready_key = sys.argv[1:5]
    conn = patient_redis(url)
    pool = CeleryPool(conn) if kind == "celery" else RqPool(conn)
    pid = pool.ping(120)
    conn.set(ready_key, f"ready {pid}")
    requests = f"hunt:py:requests:{name}"
    try:
        serve(conn, pool, requests)
    except redis.exceptions.ConnectionError:
        # The server is gone (hunt ended): end the whole pool, which shares our group.
        os.killpg(os.getpgid(0), signal.SIGKILL)


def serve(conn, pool, requests):
    while True:
        _, raw = conn.blpop(requests)
        req = json.loads(raw)
        hunt = req["id"]
        reply(conn, hunt, event="accepted")
        try:
            states = pool.hunt(req)
        except Exception:
            reply(conn, hunt, event="error", why=traceback.format_exc().strip().splitlines()[-1])
            continue
        unsettled = sum(1 for s in states if s is None)
        reply(conn, hunt, event="done", tasks=[s for s in states if s is not None],
              unsettled=unsettled)


if __name__ == "__main__":
    main()
