-- Claims one task of hunt $1 for owner $2 (worker $3), with a lease of $4 ms, in one
-- statement: the first task by id that is not started, whose lease ran out, or that
-- this owner held before it restarted. The lease and the fence are committed columns:
-- no row lock outlives this statement's transaction. The CTE keeps the LIMIT to one
-- row (a LIMIT subquery in `WHERE id = (...)` may be run again per row by the planner:
-- Oban's 2.15 changelog); SKIP LOCKED lets concurrent claims pass each other. The lease
-- runs from clock_timestamp(), not now() (the transaction's start, before any wait
-- for the stop lock), so a claim that waited hands out its whole lease.
WITH next AS (
    SELECT hunt, id FROM task
     WHERE hunt = $1
       AND (state = 'NotStarted'
            OR (state = 'Running' AND (lease_until < now() OR owner = $2)))
     ORDER BY id
     LIMIT 1
       FOR UPDATE SKIP LOCKED
)
UPDATE task AS t
   SET state = 'Running', owner = $2, worker = $3,
       lease_until = clock_timestamp() + $4::bigint * interval '1 millisecond',
       token = t.token + 1, attempts = t.attempts + 1, note = NULL
  FROM next
 WHERE t.hunt = next.hunt AND t.id = next.id
RETURNING t.id, t.pos_from, t.pos_to, t.attempts, t.token
