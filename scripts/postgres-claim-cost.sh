#!/bin/sh
# PostgreSQL as the queue, measured: the blog's two complaints about a database table as
# a job queue. Figures: docs/BROKERS.md ("PostgreSQL as the queue, measured").
#
#   scripts/postgres-claim-cost.sh claim PSQL-ARGS
#     The claim's cost on a hunt of N tasks (N = 1,000, 10,000, 100,000, 1,000,000),
#     N-10 of them Completed (late in a hunt: the claim must pass every finished row),
#     with and without the partial index task_ready: the median of 7 EXPLAIN ANALYZE
#     execution times of one claim, each rolled back; then, at the largest N, the plan
#     itself (EXPLAIN (ANALYZE, BUFFERS)), custom and generic, with and without the
#     index: does the LIMIT 1 subquery stay one row, one update (Oban 2.15's warning)?
#     The claim is src/broker/postgres/claim.sql itself, PREPAREd.
#
#   scripts/postgres-claim-cost.sh table HUNT DIR HUNTS URL PSQL-ARGS
#     The table over HUNTS hunts: HUNT (the hunt binary) searches DIR HUNTS times with
#     --strategy postgres --broker URL; then the hunt schema's tables (live and dead
#     tuples, pg_total_relation_size, autovacuum runs) are printed: after the hunts;
#     after every hunt's expiry is reached (set to now() by SQL, not waited for: a
#     retired hunt's rows are deleted 10 minutes after it ends) and `hunt status` has
#     pruned them; after VACUUM; after VACUUM FULL.
#
# PSQL-ARGS: -h HOST -p PORT -U USER -d DB, for a queue hunt has made (its schema
# `hunt`); psql from /usr/lib/postgresql/*/bin or PATH.
set -e
mode=${1:-claim}
shift || true
here=$(dirname "$0")

if [ "$mode" = table ]; then
  hunt=$1 dir=$2 hunts=$3 url=$4
  shift 4
  P="psql -X -q -t -A $*"
  tables() {
    echo "-- $1"
    $P -F ' | ' -c "SELECT relname, n_live_tup, n_dead_tup, pg_size_pretty(pg_total_relation_size(relid)), autovacuum_count FROM pg_stat_user_tables WHERE schemaname = 'hunt' AND relname IN ('hunt', 'task', 'event', 'answer', 'refusal', 'worker') ORDER BY relname"
  }
  i=0
  while [ "$i" -lt "$hunts" ]; do
    # 0 found, 1 not found; anything else stops the measurement.
    HUNT_EXE="$hunt" "$hunt" search --strategy postgres --broker "$url" --dir "$dir" -j 2 >/dev/null \
      || [ $? -le 1 ] || { echo "hunt $i failed" >&2; exit 1; }
    i=$((i + 1))
  done
  # The statistics collector is asynchronous: give it its moment.
  sleep 2
  tables "after $hunts hunts"
  $P -c "UPDATE hunt.hunt SET expires = now() WHERE expires IS NOT NULL"
  HUNT_EXE="$hunt" "$hunt" status --broker "$url" --json >/dev/null
  sleep 2
  tables "after their expiry, pruned by hunt status"
  $P -c "VACUUM hunt.hunt, hunt.task, hunt.event, hunt.answer, hunt.refusal, hunt.worker"
  sleep 2
  tables "after VACUUM"
  $P -c "VACUUM FULL hunt.hunt, hunt.task, hunt.event, hunt.answer, hunt.refusal, hunt.worker"
  sleep 2
  tables "after VACUUM FULL"
  exit 0
fi

P="psql -X -q -t -A $*"
# The claim as hunt runs it, comments dropped, as a prepared statement.
claim=$(grep -v '^--' "$here/../src/broker/postgres/claim.sql")
prepare="SET search_path TO hunt; PREPARE claim AS $claim;"
run_claim="EXECUTE claim('bench', 'a/0', 'a@h', 1000)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
sizes=${SIZES:-1000 10000 100000 1000000}
last=$(echo "$sizes" | awk '{print $NF}')
for n in $sizes; do
  $P -c "SET search_path TO hunt; DELETE FROM hunt WHERE id = 'bench';
    INSERT INTO hunt (id, spec, alive_until, tasks, batch, files, max_attempts, lease_ms) VALUES ('bench', '{}', now() + interval '1 hour', $n, 1, $n, 3, 1000);
    INSERT INTO task (hunt, id, pos_from, pos_to, state) SELECT 'bench', g, g, g+1, CASE WHEN g < $n - 10 THEN 'Completed' ELSE 'NotStarted' END FROM generate_series(0, $n - 1) g;
"
  $P -c "VACUUM ANALYZE hunt.task"
  $P -c "SELECT count(*) FROM hunt.task WHERE hunt = 'bench'" | sed "s/^/rows: /"
  for index in with without; do
    [ $index = without ] && $P -c "DROP INDEX hunt.task_ready; ANALYZE hunt.task;"
    for i in 1 2 3 4 5 6 7; do
      $P -c "$prepare BEGIN; EXPLAIN (ANALYZE, FORMAT JSON) $run_claim; ROLLBACK;" \
        | grep -o '"Execution Time": [0-9.]*' | awk '{print $3}'
    done | median | sed "s/^/$n tasks, $index partial index: ms /"
    if [ "$n" = "$last" ]; then
      for cache in force_custom_plan force_generic_plan; do
        echo "-- plan at $n tasks, $index partial index, $cache"
        $P -c "SET plan_cache_mode = $cache; $prepare BEGIN; EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) $run_claim; ROLLBACK;"
      done
      # The forms hunt does not use: the issue's `id = (subquery)` and Oban's
      # `IN (subquery)`; how many rows does each update?
      pick="SELECT id FROM task WHERE hunt = 'bench' AND state = 'NotStarted' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
      for form in "id = ($pick)" "id IN ($pick)"; do
        echo "-- plan at $n tasks, $index partial index: UPDATE ... WHERE hunt = 'bench' AND $form"
        $P -c "SET search_path TO hunt; BEGIN; EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) UPDATE task SET state = 'Running', token = token + 1 WHERE hunt = 'bench' AND $form; ROLLBACK;"
      done
    fi
    [ $index = without ] && $P -c "CREATE INDEX task_ready ON hunt.task (hunt, id) WHERE state IN ('NotStarted', 'Running'); ANALYZE hunt.task;"
  done
  $P -c "DELETE FROM hunt.hunt WHERE id = 'bench'"
done
