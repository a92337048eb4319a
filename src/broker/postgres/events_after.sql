-- The coordinator's read of a hunt's events after its cursor, in one statement:
-- `SELECT seq, body FROM hunt.events_after($1, $2)`. Schema version 3.
--
-- Why a lock: a `bigserial` is handed out at insert, not at commit, so a reader could
-- see seq 11 before 10 commits, and its cursor would skip 10 for good. Every writer of
-- events holds a share of the hunt's event lock from just before its insert to its
-- commit (writers pass each other); this read takes the lock whole, so it waits for
-- the writers in flight to commit, and the writers after it wait for its read: what it
-- reads is every event up to its last seq, and every later event gets a later seq.
-- Until version 3 every writer took the lock whole, and eight workers queued on it
-- (docs/BROKERS.md, "Costs: round trips per task").
--
-- A writer that holds its share for longer than the lock_timeout (a worker paused in
-- the middle of a transaction) makes this read return nothing, not wait: the caller
-- reads again after its next wait (the writer's commit sends a notice).
CREATE OR REPLACE FUNCTION hunt.events_after(p_hunt text, p_after bigint)
RETURNS TABLE (seq bigint, body text)
LANGUAGE plpgsql SET lock_timeout = '100ms' AS $$
BEGIN
    BEGIN
        PERFORM pg_advisory_xact_lock(1213550164, hashtext(p_hunt));
    EXCEPTION WHEN lock_not_available THEN
        RETURN;
    END;
    -- A statement of its own, after the lock: a snapshot that sees every writer that
    -- was in flight.
    RETURN QUERY SELECT e.seq, e.body FROM hunt.event e
                  WHERE e.hunt = p_hunt AND e.seq > p_after ORDER BY e.seq;
END
$$;
