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
#   scripts/postgres-claim-cost.sh floor PSQL-ARGS
#     The floor under any task a PostgreSQL table queue runs: one client's transactions
#     a second (pgbench -c 1 -M prepared, 2 s each, in turn, median of ROUNDS=3 rounds)
#     of `SELECT 1`, of the cheapest write (one row, one column no index covers: a HOT
#     update) and of a task's least work: hunt's claim (src/broker/postgres/claim.sql,
#     on a hunt of 100,000 fresh tasks made again each round) setting the task
#     Completed at once, so a claim and a report in one statement, with no fence, no
#     event and no notice; each as a ratio to `SELECT 1`. hunt's own tasks a second: scripts/broker-costs.sh.
#
# PSQL-ARGS: -h HOST -p PORT -U USER -d DB, for a queue hunt has made (its schema
# `hunt`); psql from /usr/lib/postgresql/*/bin or PATH.
set -e
# psql and pgbench: the newest /usr/lib/postgresql/*/bin first (the Debian package's,
# which also has pgbench), else PATH's.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] && PATH=$pgbin:$PATH
mode=${1:-claim}
shift || true
here=$(dirname "$0")
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

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

if [ "$mode" = floor ]; then
  P="psql -X -q -t -A $*"
  bench=pgbench
  t=$(mktemp -d /tmp/hunt-pg-floor.XXXXXX)
  trap 'rm -rf "$t"' EXIT
  echo 'SELECT 1;' >"$t/select1.sql"
  echo "UPDATE hunt_floor SET at = clock_timestamp() WHERE id = 1;" >"$t/write.sql"
  # The claim, with the task made Completed by the same statement (a task's least
  # work: one row's state changed twice in one transaction is one change).
  grep -v '^--' "$here/../src/broker/postgres/claim.sql" | tr '\n' ' ' |
    sed "s/FROM task/FROM hunt.task/; s/UPDATE task/UPDATE hunt.task/; s/SET state = 'Running'/SET state = 'Completed'/;
         s/\$1/'floor'/g; s/\$2/'a\/0'/g; s/\$3/'a@h'/g; s/\$4/60000/g; s/\$/;/" >"$t/claim.sql"
  $P -c "DROP TABLE IF EXISTS hunt_floor; CREATE TABLE hunt_floor (id int PRIMARY KEY, at timestamptz); INSERT INTO hunt_floor VALUES (1, now());"
  rate() { "$bench" "$@" -n -c 1 -T 2 -M prepared 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p'; }
  r=0
  while [ "$r" -lt "${ROUNDS:-3}" ]; do
    $P -c "DELETE FROM hunt.hunt WHERE id = 'floor';
      INSERT INTO hunt.hunt (id, spec, alive_until, tasks, batch, files, max_attempts, lease_ms) VALUES ('floor', '{}', now() + interval '1 hour', 100000, 1, 100000, 3, 60000);
      INSERT INTO hunt.task (hunt, id, pos_from, pos_to) SELECT 'floor', g, g, g + 1 FROM generate_series(0, 99999) g;"
    $P -c "VACUUM ANALYZE hunt.task"
    s1=$(rate "$@" -f "$t/select1.sql") w=$(rate "$@" -f "$t/write.sql") c=$(rate "$@" -f "$t/claim.sql")
    echo "$s1 $w $c" >>"$t/rounds"
    echo "floor: round $((r + 1)): SELECT 1 $s1, one-row write $w, claim $c a second" >&2
    r=$((r + 1))
  done
  $P -c "DELETE FROM hunt.hunt WHERE id = 'floor'; DROP TABLE hunt_floor;"
  col() { awk -v c="$1" '{ print $c }' "$t/rounds" | median; }
  ratio() { awk -v c="$1" '{ print $c / $1 }' "$t/rounds" | median; }
  echo "| transaction, one client | per second | x SELECT 1 |"
  echo "|:---|---:|---:|"
  printf '| `SELECT 1` | %.0f | 1.00 |\n' "$(col 1)"
  printf '| one-row write (HOT update) | %.0f | %.2f |\n' "$(col 2)" "$(ratio 2)"
  printf "| a task's least work: claim and report in one statement | %.0f | %.2f |\n" "$(col 3)" "$(ratio 3)"
  exit 0
fi

P="psql -X -q -t -A $*"
# The claim as hunt runs it, comments dropped, as a prepared statement.
claim=$(grep -v '^--' "$here/../src/broker/postgres/claim.sql")
prepare="SET search_path TO hunt; PREPARE claim AS $claim;"
run_claim="EXECUTE claim('bench', 'a/0', 'a@h', 1000)"
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
