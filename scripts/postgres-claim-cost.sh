#!/bin/sh
# The claim's cost on a hunt of N tasks, N-10 of them Completed (late in a hunt: the
# claim must pass every finished row), with and without the partial index task_ready.
# Median of 7 EXPLAIN ANALYZE runs, each rolled back, on a queue hunt has made (its
# schema `hunt`). Usage: scripts/postgres-claim-cost.sh PSQL-ARGS (-h HOST -p PORT -U USER -d DB);
# psql from /usr/lib/postgresql/*/bin or PATH. Figures: docs/BROKERS.md.
P="psql -X -q -t -A $*"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for n in 1000 100000; do
  $P -c "SET search_path TO hunt; DELETE FROM hunt WHERE id = 'bench';
    INSERT INTO hunt (id, spec, alive_until, tasks, batch, files, max_attempts, lease_ms) VALUES ('bench', '{}', now() + interval '1 hour', $n, 1, $n, 3, 1000);
    INSERT INTO task (hunt, id, pos_from, pos_to, state) SELECT 'bench', g, g, g+1, CASE WHEN g < $n - 10 THEN 'Completed' ELSE 'NotStarted' END FROM generate_series(0, $n - 1) g;
"
  $P -c "VACUUM ANALYZE hunt.task"
  $P -c "SELECT count(*) FROM hunt.task WHERE hunt = 'bench'" | sed "s/^/rows: /"
  for index in with without; do
    [ $index = without ] && $P -c "DROP INDEX hunt.task_ready; ANALYZE hunt.task;"
    for i in 1 2 3 4 5 6 7; do
      $P -c "SET search_path TO hunt; BEGIN; EXPLAIN (ANALYZE, FORMAT JSON) WITH next AS (SELECT hunt, id FROM task WHERE hunt = 'bench' AND (state = 'NotStarted' OR (state = 'Running' AND (lease_until < now() OR owner = 'a/0'))) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) UPDATE task AS t SET state = 'Running', owner = 'a/0', worker = 'a@h', lease_until = now() + interval '1 s', token = t.token + 1, attempts = t.attempts + 1, note = NULL FROM next WHERE t.hunt = next.hunt AND t.id = next.id RETURNING t.id; ROLLBACK;" \
        | grep -o '"Execution Time": [0-9.]*' | awk '{print $3}'
    done | median | sed "s/^/$n tasks, $index partial index: ms /"
    [ $index = without ] && $P -c "CREATE INDEX task_ready ON hunt.task (hunt, id) WHERE state IN ('NotStarted', 'Running'); ANALYZE hunt.task;"
  done
  $P -c "DELETE FROM hunt.hunt WHERE id = 'bench'"
done
