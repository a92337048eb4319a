-- The queue's schema, version 1 (PRAGMA user_version), in a database whose
-- PRAGMA application_id is hunt's. Written once, into a new file, before the file is
-- given its name (see `create` in sqlite.rs). Times are milliseconds since the epoch
-- by this host's clock: every process sharing the file is on this host.

-- One row per hunt: its spec, its stop signal, its counts, its answer.
CREATE TABLE hunt (
    id             TEXT PRIMARY KEY,
    spec           TEXT NOT NULL,              -- the HuntSpec, JSON
    created_ms     INTEGER NOT NULL,
    alive_until_ms INTEGER NOT NULL,           -- the coordinator's keep-alive
    expires_ms     INTEGER,                    -- set when retired: deleted after this
    stop           INTEGER NOT NULL DEFAULT 0 CHECK (stop IN (0, 1)),
    status         TEXT NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'found', 'not found', 'unknown', 'stopped')),
    tasks          INTEGER NOT NULL,
    terminal       INTEGER NOT NULL DEFAULT 0, -- tasks Completed or Failed
    batch          INTEGER NOT NULL,
    files          INTEGER NOT NULL,
    max_attempts   INTEGER NOT NULL,
    lease_ms       INTEGER NOT NULL,
    poll_ms        INTEGER NOT NULL,
    answer         TEXT                        -- the Answer, JSON: set once
) STRICT;

-- The blog's table: one row per task, with its state flag.
CREATE TABLE task (
    hunt        TEXT NOT NULL,
    id          INTEGER NOT NULL,
    pos_from    INTEGER NOT NULL,              -- search positions pos_from..pos_to
    pos_to      INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'NotStarted'
                CHECK (state IN ('NotStarted', 'Running', 'Completed', 'Failed')),
    worker      TEXT,                          -- NAME@HOST that holds or last held it
    consumer    TEXT,                          -- NAME/THREAD that holds it, while Running
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,                       -- while Running
    token       INTEGER NOT NULL DEFAULT 0,    -- the fence: bumped by every claim
    note        TEXT,
    PRIMARY KEY (hunt, id)
) STRICT;

-- What makes a claim cheap whatever the table holds (benches/sqlite.rs drops it to
-- measure the blog's claim that polling gets costlier as the table grows).
CREATE INDEX task_ready ON task (hunt, state, id);

-- Every change to a hunt, in order; the coordinator reads those after its last seq.
CREATE TABLE event (
    seq   INTEGER PRIMARY KEY,
    hunt  TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    body  TEXT NOT NULL                        -- the Event, JSON
) STRICT;
CREATE INDEX event_hunt ON event (hunt, seq);

-- Workers that refused a hunt, and why.
CREATE TABLE refusal (
    hunt   TEXT NOT NULL,
    worker TEXT NOT NULL,
    why    TEXT NOT NULL,
    PRIMARY KEY (hunt, worker)
) STRICT;

-- Heartbeats.
CREATE TABLE worker (
    name         TEXT PRIMARY KEY,
    info         TEXT NOT NULL,                -- the WorkerInfo, JSON
    last_seen_ms INTEGER NOT NULL,
    statements   INTEGER NOT NULL DEFAULT 0    -- SQL statements its process has run
) STRICT;
