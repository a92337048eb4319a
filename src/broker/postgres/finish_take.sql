-- A worker's report of a task it finished and the claim of its next task, in one
-- statement (one round trip, one transaction): `SELECT * FROM hunt.finish_take(...)`.
-- Schema version 2. Only the common case runs here: a report with no find and no
-- failure, by the worker that holds the task, of a hunt still there, and a claim of
-- a task whose row is the hunt's own and not taken too often. Anything else changes
-- nothing here, or only the report, and says `slow`: the caller then runs the same
-- steps as separate statements (postgres/queue.rs), where the contract's rules live.
--
-- Locks in the order every transaction takes them (see postgres.rs): a share of the
-- hunt's stop lock, the task's row (the fence), the claimed row (SKIP LOCKED: it never
-- waits), the hunt's row (its count), the event lock. The hunt's row and the event
-- lock are taken last, so the part of a report that a hunt's reports run one at a
-- time is three statements long. The lease is stamped with clock_timestamp(), after
-- every wait but the one for those two: `now()` is the transaction's start, and a
-- lease stamped then would lose whatever the waits took.
--
-- Parameters: hunt, owner (NAME/THREAD), label (NAME@HOST), the task reported, its
-- fencing token, the task's note (the cut-short note, or NULL), and its Finished event
-- as JSON. Returns one row: the report's reply (`accepted` or `slow`: nothing done),
-- and the take (`task` with its columns, `wait`, `over`, or `slow`: claim again).
CREATE FUNCTION hunt.finish_take(
    p_hunt text, p_owner text, p_label text, p_task bigint, p_token bigint,
    p_note text, p_finished text,
    OUT reply text, OUT next text, OUT o_id bigint, OUT o_from bigint,
    OUT o_to bigint, OUT o_attempt integer, OUT o_token bigint)
LANGUAGE plpgsql AS $$
DECLARE
    h record;
    c record;
    done bigint;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1213550164, hashtext('stop ' || p_hunt));
    -- The fence, and the hunt's row as a take reads it (not locked: its stop flag
    -- cannot rise while this transaction holds the stop lock's share).
    SELECT r.stop, r.tasks, r.batch, r.files, r.max_attempts, r.lease_ms INTO h
      FROM hunt.task t JOIN hunt.hunt r ON r.id = t.hunt
     WHERE t.hunt = p_hunt AND t.id = p_task AND t.state = 'Running'
       AND t.owner = p_owner AND t.token = p_token
       AND NOT ((r.expires IS NOT NULL AND r.expires <= now()) OR (r.expires IS NULL AND r.alive_until <= now()))
       FOR UPDATE OF t;
    IF NOT FOUND THEN
        reply := 'slow'; next := 'slow';
        RETURN;
    END IF;
    UPDATE hunt.task t
       SET state = 'Completed', worker = p_label, owner = NULL, lease_until = NULL, note = p_note
     WHERE t.hunt = p_hunt AND t.id = p_task;
    reply := 'accepted';
    next := 'wait';
    IF h.stop THEN
        next := 'over';
    ELSE
        -- The claim of postgres/claim.sql, looked at before it is made; before the
        -- hunt's row and the event lock, so that the part of the transaction a
        -- hunt's reports run one at a time stays short.
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
        END IF;
    END IF;
    UPDATE hunt.hunt AS r SET terminal = r.terminal + 1 WHERE r.id = p_hunt
    RETURNING r.terminal INTO done;
    IF next = 'wait' AND done >= h.tasks THEN
        next := 'over';
    END IF;
    PERFORM pg_advisory_xact_lock(1213550164, hashtext(p_hunt)), pg_notify('hunt_events', p_hunt);
    IF next = 'task' THEN
        INSERT INTO hunt.event (hunt, body)
        VALUES (p_hunt, p_finished),
               (p_hunt, json_build_object('event', 'started', 'task', o_id, 'worker', p_label, 'attempt', o_attempt)::text);
    ELSE
        INSERT INTO hunt.event (hunt, body) VALUES (p_hunt, p_finished);
    END IF;
END
$$;
