-- A worker's report of a task it finished and the claim of its next task, in one
-- statement (one round trip, one transaction): `SELECT * FROM hunt.finish_take(...)`.
-- Schema version 3 (2 made it; 3 took the hunt's count out). Only the common case
-- runs here: a report with no find and no failure, by the worker that holds the task,
-- of a hunt still there, and a claim of a task whose row is the hunt's own and not
-- taken too often. Anything else changes nothing here, or only the report, and says
-- `slow`: the caller then runs the same steps as separate statements
-- (postgres/queue.rs), where the contract's rules live.
--
-- Locks in the order every transaction takes them (see postgres.rs): a share of the
-- hunt's stop lock, the task's row (the fence), the claimed row (SKIP LOCKED: it never
-- waits), a share of the event lock (see events_after.sql: reports pass each other,
-- and only the coordinator's read takes it whole). No row every report writes: the
-- hunt's row kept a count of settled tasks until version 3, and eight workers queued
-- on that one row (docs/BROKERS.md, "Costs: round trips per task"); whether every
-- task is settled is now asked of the task rows, and only by a take that found
-- nothing. The lease is stamped with clock_timestamp(), after every wait: `now()` is
-- the transaction's start, and a lease stamped then would lose whatever the waits
-- took.
--
-- Parameters: hunt, owner (NAME/THREAD), label (NAME@HOST), the task reported, its
-- fencing token, the task's note (the cut-short note, or NULL), and its Finished event
-- as JSON. Returns one row: the report's reply (`accepted` or `slow`: nothing done),
-- and the take (`task` with its columns, `wait`, `over`, or `slow`: claim again).
CREATE OR REPLACE FUNCTION hunt.finish_take(
    p_hunt text, p_owner text, p_label text, p_task bigint, p_token bigint,
    p_note text, p_finished text,
    OUT reply text, OUT next text, OUT o_id bigint, OUT o_from bigint,
    OUT o_to bigint, OUT o_attempt integer, OUT o_token bigint)
LANGUAGE plpgsql AS $$
DECLARE
    h record;
    c record;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1213550164, hashtext('stop ' || p_hunt));
    -- The fence and the report in one statement, which also reads the hunt's row as a
    -- take reads it (not locked: its stop flag cannot rise while this transaction
    -- holds the stop lock's share). A row changed under it is looked at again
    -- (READ COMMITTED's recheck), as `FOR UPDATE` would.
    UPDATE hunt.task t
       SET state = 'Completed', worker = p_label, owner = NULL, lease_until = NULL, note = p_note
      FROM hunt.hunt r
     WHERE r.id = t.hunt AND t.hunt = p_hunt AND t.id = p_task AND t.state = 'Running'
       AND t.owner = p_owner AND t.token = p_token
       AND NOT ((r.expires IS NOT NULL AND r.expires <= now()) OR (r.expires IS NULL AND r.alive_until <= now()))
    RETURNING r.stop, r.tasks, r.batch, r.files, r.max_attempts, r.lease_ms INTO h;
    IF NOT FOUND THEN
        reply := 'slow'; next := 'slow';
        RETURN;
    END IF;
    reply := 'accepted';
    next := 'wait';
    IF h.stop THEN
        next := 'over';
    ELSE
        -- The claim of postgres/claim.sql, looked at before it is made.
        SELECT t.id, t.pos_from, t.pos_to, t.attempts INTO c FROM hunt.task t
         WHERE t.hunt = p_hunt
           AND (t.state = 'NotStarted'
                OR (t.state = 'Running' AND (t.lease_until < clock_timestamp() OR t.owner = p_owner)))
         ORDER BY t.id
         LIMIT 1
           FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            -- A row that is not a task of this hunt, or one taken too often: the
            -- caller's claim deals with it by the contract's rules.
            IF c.id < 0 OR c.id >= h.tasks OR c.attempts + 1 > h.max_attempts THEN
                next := 'slow';
            ELSIF c.pos_from <> c.id * h.batch OR c.pos_to <> least(c.id * h.batch + h.batch, h.files) THEN
                next := 'slow';
            ELSE
                UPDATE hunt.task t
                   SET state = 'Running', owner = p_owner, worker = p_label,
                       lease_until = clock_timestamp() + h.lease_ms * interval '1 millisecond',
                       token = t.token + 1, attempts = t.attempts + 1, note = NULL
                 WHERE t.hunt = p_hunt AND t.id = c.id
                RETURNING t.id, t.pos_from, t.pos_to, t.attempts, t.token
                     INTO o_id, o_from, o_to, o_attempt, o_token;
                next := 'task';
            END IF;
        ELSIF NOT EXISTS (SELECT 1 FROM hunt.task t
                           WHERE t.hunt = p_hunt AND t.state IN ('NotStarted', 'Running')) THEN
            -- Every task settled (no count on the hunt's row: see schema.sql). A task
            -- settled at this moment by another transaction is not seen here; that
            -- worker sees this one's, or the coordinator's retire wakes both.
            next := 'over';
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(1213550164, hashtext(p_hunt)), pg_notify('hunt_events', p_hunt);
    IF next = 'task' THEN
        -- Both events in one row, in order (the coordinator reads an array as its
        -- events one by one): one row inserted, its indexes and foreign key once.
        INSERT INTO hunt.event (hunt, body)
        VALUES (p_hunt, '[' || p_finished || ',' ||
                json_build_object('event', 'started', 'task', o_id, 'worker', p_label, 'attempt', o_attempt)::text || ']');
    ELSE
        INSERT INTO hunt.event (hunt, body) VALUES (p_hunt, p_finished);
    END IF;
END
$$;
