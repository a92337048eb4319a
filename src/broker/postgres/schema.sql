-- The queue's schema, version 3 (the row 'schema' of hunt.meta; 2 added the function
-- of postgres/finish_take.sql, made after these tables; 3 dropped the hunt's count of
-- settled tasks, `terminal`, which every report updated), in a schema of its
-- own (`hunt`) so it sits beside any other program's tables in a shared database.
-- Made once per database, under an advisory lock, by the first connection that finds
-- it missing (see `ensure_schema` in postgres.rs). Times are the server's clock: the
-- workers of one hunt may run on several hosts.
CREATE SCHEMA IF NOT EXISTS hunt;
SET LOCAL search_path TO hunt;

-- What this schema is: its version, so a newer hunt's schema is refused.
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- One row per hunt: its spec, its stop signal, its task count, its expiry. Nothing a
-- worker's report writes: a row every report updated was where eight workers queued.
CREATE TABLE hunt (
    id           text PRIMARY KEY,
    spec         text NOT NULL,                     -- the HuntSpec, JSON
    created      timestamptz NOT NULL DEFAULT clock_timestamp(),
    alive_until  timestamptz NOT NULL,              -- the coordinator's keep-alive
    expires      timestamptz,                       -- set when retired: deleted after this
    stop         boolean NOT NULL DEFAULT false,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'found', 'not found', 'unknown', 'stopped')),
    tasks        bigint NOT NULL,
    batch        bigint NOT NULL,
    files        bigint NOT NULL,
    max_attempts integer NOT NULL,
    lease_ms     bigint NOT NULL
);

-- The blog's table: one row per task, with its state flag, its lease and its fence.
CREATE TABLE task (
    hunt        text NOT NULL REFERENCES hunt (id) ON DELETE CASCADE,
    id          bigint NOT NULL,
    pos_from    bigint NOT NULL,                    -- search positions pos_from..pos_to
    pos_to      bigint NOT NULL,
    state       text NOT NULL DEFAULT 'NotStarted'
                CHECK (state IN ('NotStarted', 'Running', 'Completed', 'Failed')),
    worker      text,                               -- NAME@HOST that holds or last held it
    owner       text,                               -- NAME/THREAD that holds it, while Running
    attempts    integer NOT NULL DEFAULT 0,
    lease_until timestamptz,                        -- while Running
    token       bigint NOT NULL DEFAULT 0,          -- the fence: bumped by every claim
    note        text,
    PRIMARY KEY (hunt, id)
);

-- The claim's index: only the rows a claim may take (docs/BROKERS.md measures the
-- claim with and without it).
CREATE INDEX task_ready ON task (hunt, id) WHERE state IN ('NotStarted', 'Running');

-- The answer: one row per hunt, inserted once (ON CONFLICT DO NOTHING).
CREATE TABLE answer (
    hunt text PRIMARY KEY REFERENCES hunt (id) ON DELETE CASCADE,
    body text NOT NULL                              -- the Answer, JSON
);

-- Every change to a hunt, in order; the coordinator reads those after its last seq.
-- Writers take the hunt's event lock before they insert (see `emit`), so a hunt's
-- events commit in seq order and a reader's cursor never skips one.
CREATE TABLE event (
    seq  bigserial PRIMARY KEY,
    hunt text NOT NULL REFERENCES hunt (id) ON DELETE CASCADE,
    at   timestamptz NOT NULL DEFAULT now(),
    body text NOT NULL                              -- the Event, JSON; or a JSON array of events, in order
);
CREATE INDEX event_hunt ON event (hunt, seq);

-- Workers that refused a hunt, and why.
CREATE TABLE refusal (
    hunt   text NOT NULL REFERENCES hunt (id) ON DELETE CASCADE,
    worker text NOT NULL,
    why    text NOT NULL,
    PRIMARY KEY (hunt, worker)
);

-- Heartbeats.
CREATE TABLE worker (
    name      text PRIMARY KEY,
    info      text NOT NULL,                        -- the WorkerInfo, JSON
    last_seen timestamptz NOT NULL
);

INSERT INTO meta (key, value) VALUES ('schema', '3');
