# shellcheck shell=bash disable=SC2154 # prog, root, target, hunt, runs, strategies come from broker-costs.sh
# The --round-trips part of scripts/broker-costs.sh; sourced, never run. Each broker is a
# private server in a folder under /tmp this script makes and removes (PostgreSQL as the
# `postgres` account when root, which it refuses to run as): the baseline and the hunt
# use the same transport (Redis and RabbitMQ: loopback TCP; PostgreSQL: a Unix socket).
#
# A broker joins with three functions: rt_start_NAME (starts its server, sets rt_url),
# rt_base_NAME (prints the single-client round trips a second), rt_reset_NAME and
# rt_count_NAME (zero the server's call counters; print "WORKER COORDINATOR" calls since),
# and a name in rt_brokers.
#
# RabbitMQ (`rabbitmq-server`, a private node started as hunt's own, rabbitmq/server.rs):
# its baseline is one client's publish-consume round trip, `examples/amqp_round_trip.rs`
# (built here with cargo), twice: on a classic non-durable queue without publisher
# confirms (the network and the broker, nothing on disk: the figure its ratios use) and
# on a quorum queue with confirms and persistent messages, the queue type hunt's tasks
# live in (the ratio against it in brackets). Its calls per task are "n/a": RabbitMQ
# counts no operations per connection or per client without the management plugin, and
# hunt counts none of its own, so the workers' and the coordinator's calls cannot be
# told apart, and the node's time in them is not counted either. What the node does
# count, in all (`rabbit_global_counters`, read with Erlang's `erl_call`, else
# `rabbitmqctl eval`, before and after each hunt), is printed per task in a table of its own below the row: messages
# published (workers' reports, the coordinator's tasks, replies and news), confirmed,
# delivered from queues (tasks, reports; direct replies go to no queue) and
# acknowledged. `--rabbitmq URL` uses that server instead of a private node (its
# counters are then not read: no cookie).

rt_brokers=(redis postgres rabbitmq)
rt_tmp=
rt_pids=()
rt_groups=() # process groups killed whole (a RabbitMQ node: its script and its VM)
rt_url=
rt_url_before= # where the --before build's hunts go, when not rt_url

rt_cleanup() {
    local p i
    for p in "${rt_pids[@]}"; do
        # A server ended by its signal makes `wait` fail: under `set -e` that would end
        # the script with 143 once its table was written.
        { kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; } || true
    done
    rt_pids=()
    for p in "${rt_groups[@]}"; do
        # As hunt stops its own node: SIGKILL to the group, nothing of it is kept; then
        # a bounded wait until no process of it is left, before its folder goes.
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 -- "-$p" 2>/dev/null || break
            sleep 0.1
        done
    done
    rt_groups=()
    [[ -n $rt_tmp ]] && rm -rf "$rt_tmp"
    rt_url_before=
    rt_tmp=
}

# Polls `cmd...` for up to 10 s.
rt_wait_for() {
    local i
    for ((i = 0; i < 200; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    die "the private server did not answer: $*"
}

# Redis on a loopback TCP port (a free one the kernel picks), as the issue measured
# its round trip; hunt's own private server listens on a Unix socket instead.
rt_port=
rt_start_redis() {
    command -v redis-server >/dev/null || return 1
    local d=$rt_tmp/redis
    mkdir -p "$d"
    rt_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --bind 127.0.0.1 --port "$rt_port" --save '' --appendonly no \
        --dir "$d" --logfile "$d/log" --daemonize no &
    rt_pids+=($!)
    rt_wait_for redis-cli -p "$rt_port" ping
    rt_url=redis://127.0.0.1:$rt_port
}

rt_base_redis() {
    redis-benchmark -h 127.0.0.1 -p "$rt_port" -c 1 -n 20000 -t ping --csv |
        awk -F'"' '$2 == "PING_MBULK" { print $4 }'
}

rt_reset_redis() { redis-cli -p "$rt_port" config resetstat >/dev/null; }

# Workers: every EVALSHA or FCALL (take, finish, finish_take, renew: an older build's
# scripts, or this one's function library; a script never calls either, so the
# commands scripts run are not counted; the coordinator's keep-alive
# script, once a second, lands here too) and GET (a take's read of the lease). The
# coordinator: its reads of the events, BLPOP, and LMPOP (a build that reads them with
# LMPOP, whose takes LPOP the queue) or else LPOP (an older build, whose takes read a
# stream).
# Third, the server's time in the workers' calls (usec of EVALSHA, FCALL and GET: a script's
# time includes the commands it runs), in microseconds.
rt_count_redis() {
    redis-cli -p "$rt_port" info commandstats | tr -d '\r' | awk -F'[:=,]' '
        $1 == "cmdstat_evalsha" || $1 == "cmdstat_fcall" || $1 == "cmdstat_get" { w += $3; u += $5 }
        $1 == "cmdstat_lpop" { l += $3 }
        $1 == "cmdstat_lmpop" { m += $3 }
        $1 == "cmdstat_blpop" { c += $3 }
        END { print w + 0, c + (m > 0 ? m : l), u + 0 }'
}

rt_pg() { # the postgres binaries' folder
    local d
    d=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n $d && -x $d/initdb ]] && echo "$d"
}

rt_as_pg() {
    if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

rt_start_postgres() {
    local bin d=$rt_tmp/pg
    bin=$(rt_pg) || return 1
    mkdir -p "$d"
    ((EUID == 0)) && chown postgres: "$d"
    rt_as_pg "$bin/initdb" -D "$d/data" -A trust -U hunt -N -E UTF8 --locale=C >/dev/null
    rt_as_pg "$bin/postgres" -D "$d/data" -k "$d" -c listen_addresses= -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
        -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top \
        >"$d/log" 2>&1 &
    rt_pids+=($!)
    rt_wait_for "$bin/psql" -h "$d" -U hunt -d postgres -Atc 'SELECT 1'
    rt_psql 'CREATE EXTENSION pg_stat_statements' >/dev/null
    rt_url="postgres://hunt@/postgres?host=$d"
    # An older hunt may refuse the newer's schema: it gets a database of its own.
    if [[ -n $before ]]; then
        rt_psql 'CREATE DATABASE before' >/dev/null
        rt_url_before="postgres://hunt@/before?host=$d"
    fi
}

rt_psql() { "$(rt_pg)/psql" -h "$rt_tmp/pg" -U hunt -d postgres -Atc "$1"; }

rt_base_postgres() {
    echo 'SELECT 1;' >"$rt_tmp/select1.sql"
    "$(rt_pg)/pgbench" -h "$rt_tmp/pg" -U hunt -n -c 1 -T 3 -M prepared \
        -f "$rt_tmp/select1.sql" postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}

rt_reset_postgres() { rt_psql 'SELECT pg_stat_statements_reset()' >/dev/null; }

# Every statement a client sent (BEGIN and COMMIT included: each one round trip),
# but this script's own. The coordinator: its reads of the events and its keep-alive
# updates; its check that the hunt is still there (once a second) lands with the
# workers, whose takes read the same row.
# Third, the server's time in the workers' statements (total_exec_time, which leaves out
# parsing and the round trips), in microseconds.
rt_count_postgres() {
    rt_psql "SELECT coalesce(sum(calls) FILTER (WHERE NOT coord), 0) || ' ' ||
                    coalesce(sum(calls) FILTER (WHERE coord), 0) || ' ' ||
                    round(coalesce(sum(total_exec_time) FILTER (WHERE NOT coord), 0) * 1000)
               FROM (SELECT calls, total_exec_time, query LIKE '%FROM event WHERE hunt%' OR query LIKE '%events_after%'
                                OR query LIKE '%SET alive_until%' AS coord
                       FROM pg_stat_statements
                      WHERE query NOT LIKE '%pg_stat_statements%') s"
}

rt_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rt_rmq_bin() { # the folder holding rabbitmq-server: the Debian package's, else on PATH
    local d=/usr/lib/rabbitmq/bin
    [[ -x $d/rabbitmq-server ]] || d=$(dirname "$(command -v rabbitmq-server 2>/dev/null || echo /nowhere/x)")
    [[ -x $d/rabbitmq-server ]] && echo "$d"
}

rt_rmq_name=  # the private node's Erlang name; empty for a --rabbitmq server
rt_rmq_probe= # the baseline's client, examples/amqp_round_trip.rs

# The environment of the private node and of `rabbitmqctl` (which reads the node's
# cookie from HOME), as src/broker/rabbitmq/server.rs sets it: everything the node
# writes is in its folder. Sets rt_rmq_vars.
rt_rmq_vars=()
rt_rmq_set_vars() {
    local d=$rt_tmp/rabbitmq
    rt_rmq_vars=(HOME="$d" RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log"
        RABBITMQ_NODENAME="$rt_rmq_name" RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
        RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config"
        RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf")
}

rt_rmq_env() { env "${rt_rmq_vars[@]}" "$@"; }

# A private node as hunt starts its own (src/broker/rabbitmq/server.rs): no systemd, a
# node name of its own, free loopback ports for AMQP and Erlang distribution, an empty
# plugins file, its own group (killed whole by rt_cleanup); ready when its AMQP port
# takes a connection, waited for in a bounded loop (60 s, as hunt waits; about 5 s
# here). `epmd`, which the first Erlang node on a host starts, stays behind, as hunt
# leaves it: every Erlang node here shares it.
rt_start_rabbitmq() {
    rt_rmq_probe=$target/release/examples/amqp_round_trip
    if command -v cargo >/dev/null; then
        (cd "$root" && cargo build --release --quiet --example amqp_round_trip) ||
            die "cannot build examples/amqp_round_trip.rs, the baseline's client"
    fi
    if [[ ! -x $rt_rmq_probe ]]; then
        echo "$prog: no $rt_rmq_probe: build it with 'cargo build --release --example amqp_round_trip'" >&2
        return 1
    fi
    if [[ -n $rabbitmq ]]; then
        rt_url=$rabbitmq rt_rmq_name= rt_rmq_vars=()
        return 0
    fi
    local bin d=$rt_tmp/rabbitmq port dist i node
    bin=$(rt_rmq_bin) || {
        echo "$prog: RabbitMQ is not installed: install it (apt-get install rabbitmq-server, with a /usr/sbin/policy-rc.d that exits 101 so that it starts no system service), or pass --rabbitmq URL" >&2
        return 1
    }
    mkdir -p "$d"
    printf '[].\n' >"$d/enabled_plugins"
    printf 'loopback_users.guest = true\ndisk_free_limit.absolute = 10MB\n' >"$d/rabbitmq.conf"
    port=$(rt_free_port) dist=$(rt_free_port)
    rt_rmq_name=hunt-costs-$$-$port@localhost
    rt_rmq_set_vars
    # A simple command (not a function, which would run in a subshell of its own), and
    # not a group leader (a script has no job control): setsid makes the node's group
    # without a fork, so $! leads it.
    env "${rt_rmq_vars[@]}" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
        RABBITMQ_DIST_PORT="$dist" setsid "$bin/rabbitmq-server" >"$d/console.log" 2>&1 </dev/null &
    node=$!
    rt_groups+=("$node")
    for ((i = 0; i < 600; i++)); do
        kill -0 "$node" 2>/dev/null || die "the private RabbitMQ node ended at once: $(tail -n 1 "$d/console.log")"
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    ((i < 600)) || die "the private RabbitMQ node did not answer within 60 s: see $d/console.log"
    kill -0 -- "-$node" 2>/dev/null || die "the private RabbitMQ node is not in a process group of its own: stop it by hand (its folder: $d)"
    rt_url="amqp://guest:guest@127.0.0.1:$port/%2f"
}

# Two figures: the classic queue's round trips a second, then the quorum queue's.
rt_base_rabbitmq() {
    local c q
    c=$("$rt_rmq_probe" "$rt_url" 5000 classic) || die "amqp_round_trip (classic) failed"
    q=$("$rt_rmq_probe" "$rt_url" 1000 quorum) || die "amqp_round_trip (quorum) failed"
    echo "$c $q"
}

# The node's counters in all, "PUBLISHED CONFIRMED DELIVERED ACKNOWLEDGED" (classic
# and quorum queues summed), as a tuple: Erlang's `erl_call` asks in 30 ms, where
# `rabbitmqctl eval` (the fallback) starts a VM of its own for 4 to 8 s here.
rt_rmq_counters() {
    [[ -n $rt_rmq_name ]] || { echo "0 0 0 0"; return; }
    local ask='M = rabbit_global_counters:overview(),
        P = maps:get([{protocol, amqp091}], M),
        C = maps:get([{protocol, amqp091}, {queue_type, rabbit_classic_queue}], M),
        Q = maps:get([{protocol, amqp091}, {queue_type, rabbit_quorum_queue}], M),
        G = fun(K) -> maps:get(K, C) + maps:get(K, Q) end,
        {maps:get(messages_received_total, P), maps:get(messages_confirmed_total, P),
         G(messages_delivered_total), G(messages_acknowledged_total)}.' said call
    call=$(command -v erl_call || ls /usr/lib/erlang/bin/erl_call 2>/dev/null) || true
    if [[ -n $call ]]; then
        # The cookie from HOME (the node's folder), as rabbitmqctl reads it.
        said=$(rt_rmq_env "$call" -sname "$rt_rmq_name" -e <<<"$ask")
    else
        said=$(rt_rmq_env "$(rt_rmq_bin)/rabbitmqctl" -q -n "$rt_rmq_name" eval "$ask")
    fi
    said=$(tr -d ' \n' <<<"$said" | sed -n 's/.*{\([0-9]*,[0-9]*,[0-9]*,[0-9]*\)}.*/\1/p')
    [[ -n $said ]] || die "cannot read the RabbitMQ node's counters"
    tr , ' ' <<<"$said"
}

rt_reset_rabbitmq() { rt_rmq_counters >"$rt_tmp/rabbitmq-counters"; }

# No calls to count (see the top of this file): zeros the row prints as n/a, then the
# node's messages since rt_reset_rabbitmq.
rt_count_rabbitmq() {
    local now
    now=$(rt_rmq_counters)
    echo "0 0 0 $(paste -d ' ' <(tr ' ' '\n' <"$rt_tmp/rabbitmq-counters") <(tr ' ' '\n' <<<"$now") |
        awk '{ printf "%d ", $2 - $1 }')"
}

# One round: the baseline, then a full scan at --batch 1 with $2 workers by the hunt
# binary $3. Prints "BASE TASKS_PER_S WORKER_CALLS COORD_CALLS SERVER_US" (per task),
# then a second baseline and the counters past the first three (per task), where the
# broker has them (RabbitMQ). round_trips shows each round's line on stderr too.
rt_round() {
    local b=$1 j=$2 bin=$3 base out code=0 tasks elapsed counts url=$rt_url
    [[ $bin == "$before" && -n $rt_url_before ]] && url=$rt_url_before
    base=$("rt_base_$b")
    "rt_reset_$b"
    out=$(HUNT_EXE=$bin "$bin" search --json --dir "$rt_data" -s "$b" --broker "$url" --batch 1 \
        -j "$j" --needle Doubloon 2>/dev/null) || code=$?
    ((code == 1)) || die "$bin search -s $b -j $j exited $code, expected 1 (not found): $out"
    counts=$("rt_count_$b")
    tasks=$(sed -n 's/.*"tasks":{"tasks":\([0-9]*\).*/\1/p' <<<"$out")
    elapsed=$(sed -n 's/.*"elapsed_s":\([0-9.eE+-]*\).*/\1/p' <<<"$out")
    awk -v base="$base" -v n="$tasks" -v t="$elapsed" -v c="$counts" 'BEGIN {
        split(base, b, " "); k = split(c, x, " ")
        printf "%s %.1f %.3f %.3f %.1f", b[1], n / t, x[1] / n, x[2] / n, x[3] / n
        if (2 in b) printf " %s", b[2]
        for (i = 4; i <= k; i++) printf " %.3f", x[i] / n
        printf "\n" }'
}

rt_median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Median of column $2 of the lines in $1.
rt_col() { awk -v c="$2" '{ print $c }' <<<"$1" | rt_median; }

# Sets rt_data to a set of $1 one-line files, made once.
rt_set() {
    rt_data=$target/round-trip-data-$1
    [[ -f $rt_data/manifest.json ]] ||
        "$hunt" generate --dir "$rt_data" --files "$1" --lines 1 --seed 2026 >&2
}

round_trips() {
    rt_tmp=$(mktemp -d /tmp/hunt-broker-costs.XXXXXX)
    chmod 755 "$rt_tmp"
    trap rt_cleanup EXIT
    echo "## Round trips: one-file tasks (--batch 1), median of $runs rounds"
    echo
    echo "hunt: \`$("$hunt" --version 2>/dev/null || echo "$hunt")\`${before:+ (after: $hunt; before: $before, run round by round beside it)}; each rate beside the single-client round trip rate measured just before it."
    echo
    echo "| broker | tasks | build | round trips/s, 1 client | 1 worker: tasks/s | x round trip | 8 workers: tasks/s | x round trip | worker calls/task (1; 8) | coordinator calls/task (1; 8) | server us/task, workers' calls (1; 8) |"
    echo "|:---|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|"
    local b r one eight builds=(after) bin rt_after= had_before= rmq_rows=
    [[ -n $before ]] && builds=(before after)
    [[ -n $before ]] && had_before=$(COLUMNS=1000 "$before" search -h 2>/dev/null |
        sed -n 's/.*--strategy.*\[possible values: \([^]]*\)\].*/\1/p' | tr -d ' ')
    for b in "${rt_brokers[@]}"; do
        # --strategies, where given, picks the brokers measured.
        [[ -z ${strategies_given:-} || ,$strategies, == *",$b,"* ]] || continue
        [[ ,$available, == *",$b,"* ]] || { echo "$prog: $b is not in this build" >&2; continue; }
        "rt_start_$b" || { echo "$prog: no $b server here: its row is left out" >&2; continue; }
        # A PostgreSQL claim passes over the index entries of the tasks done before it
        # until a vacuum (docs/BROKERS.md: the claim's cost), so its set is smaller; a
        # RabbitMQ task costs several messages, so its set is smaller too.
        case $b in
        postgres) rt_set "$rt_pg_files" ;;
        rabbitmq) rt_set "$rt_rmq_files" ;;
        *) rt_set "$rt_files" ;;
        esac
        local -A one=() eight=()
        local bs=()
        for bin in "${builds[@]}"; do
            if [[ $bin == before && ,$had_before, != *",$b,"* ]]; then
                echo "$prog: $b is not in the before build ($before): its before row is left out" >&2
                continue
            fi
            bs+=("$bin")
        done
        for ((r = 0; r < runs; r++)); do
            for bin in "${bs[@]}"; do
                local exe=$hunt
                [[ $bin == before ]] && exe=$before
                local l1 l8
                l1=$(rt_round "$b" 1 "$exe") l8=$(rt_round "$b" 8 "$exe")
                one[$bin]+=$l1$'\n' eight[$bin]+=$l8$'\n'
                # Each round's own figures, so that the medians' spread can be read.
                echo "$prog: $b, $bin, round $((r + 1)), 1 worker: $l1; 8 workers: $l8" >&2
            done
        done
        for bin in "${bs[@]}"; do
            local o=${one[$bin]%$'\n'} e=${eight[$bin]%$'\n'} files
            local base t1 t8 x1 x8 w1 w8 c1 c8 s1 s8
            files=$(sed -n 's/^ *"files": *\([0-9]*\).*/\1/p' "$rt_data/manifest.json")
            base=$( (rt_col "$o" 1; rt_col "$e" 1) | rt_median)
            t1=$(rt_col "$o" 2) t8=$(rt_col "$e" 2)
            x1=$(awk '{ print $2 / $1 }' <<<"$o" | rt_median)
            x8=$(awk '{ print $2 / $1 }' <<<"$e" | rt_median)
            w1=$(rt_col "$o" 3) w8=$(rt_col "$e" 3) c1=$(rt_col "$o" 4) c8=$(rt_col "$e" 4)
            s1=$(rt_col "$o" 5) s8=$(rt_col "$e" 5)
            if [[ $b == rabbitmq ]]; then
                # Column 6: the quorum baseline; 7-10: the node's messages per task.
                local q q1 q8
                q=$( (rt_col "$o" 6; rt_col "$e" 6) | rt_median)
                q1=$(awk '{ print $2 / $6 }' <<<"$o" | rt_median)
                q8=$(awk '{ print $2 / $6 }' <<<"$e" | rt_median)
                printf '| %s | %d | %s | %.0f (quorum: %.0f) | %.0f | %.2f (%.2f) | %.0f | %.2f (%.2f) | n/a | n/a | n/a |\n' \
                    "$b" "$files" "$bin" "$base" "$q" "$t1" "$x1" "$q1" "$t8" "$x8" "$q8"
                rmq_rows=1
                [[ -n $rt_rmq_name ]] && rt_after+=$(printf '| %s | %.2f; %.2f | %.2f; %.2f | %.2f; %.2f | %.2f; %.2f |' \
                    "$bin" "$(rt_col "$o" 7)" "$(rt_col "$e" 7)" "$(rt_col "$o" 8)" "$(rt_col "$e" 8)" \
                    "$(rt_col "$o" 9)" "$(rt_col "$e" 9)" "$(rt_col "$o" 10)" "$(rt_col "$e" 10)")$'\n'
                continue
            fi
            printf '| %s | %d | %s | %.0f | %.0f | %.2f | %.0f | %.2f | %.2f; %.2f | %.3f; %.3f | %.0f; %.0f |\n' \
                "$b" "$files" "$bin" "$base" "$t1" "$x1" "$t8" "$x8" "$w1" "$w8" "$c1" "$c8" "$s1" "$s8"
        done
        rt_cleanup
        rt_tmp=$(mktemp -d /tmp/hunt-broker-costs.XXXXXX)
        chmod 755 "$rt_tmp"
    done
    echo
    if [[ -n $rmq_rows ]]; then
        echo "RabbitMQ: round trips of one client on a classic queue without publisher confirms (in brackets: on a quorum queue, persistent messages, confirms; hunt's tasks live in one), \`examples/amqp_round_trip.rs\`. Calls per task: n/a (no per-client counters without the management plugin; see scripts/round-trips.sh)."
        echo
    fi
    if [[ -n $rt_after ]]; then
        echo "RabbitMQ's node, per task (\`rabbit_global_counters\`: every client, workers and coordinator together; 1 worker; 8 workers):"
        echo
        echo "| build | messages published | confirmed | delivered from queues | acknowledged |"
        echo "|:---|---:|---:|---:|---:|"
        printf '%s' "$rt_after"
        echo
    fi
}

# The --cpu-split part: where one Redis worker's task goes, in CPU time. A private
# redis-server (loopback TCP), one `hunt worker -j 1` and a `--remote-workers`
# coordinator, each process timed apart: the worker's utime + stime from /proc (read
# before SIGTERM), the coordinator's by `/usr/bin/time`, redis-server's `used_cpu_user`
# + `used_cpu_sys` over the hunt. One line a round: microseconds of CPU a task.
cpu_split() {
    rt_tmp=$(mktemp -d /tmp/hunt-broker-costs.XXXXXX)
    trap rt_cleanup EXIT
    rt_start_redis || die "no redis-server here: install redis-server"
    rt_set "$rt_files"
    echo "## CPU a one-file task: one Redis worker, its coordinator and the server, apart"
    echo
    echo "| round | tasks/s | worker [us CPU/task] | coordinator | redis-server | FCALL or EVALSHA [us/task] |"
    echo "|---:|---:|---:|---:|---:|---:|"
    local r tick wpid c0 c1 out n e wu ws co cs
    tick=$(getconf CLK_TCK)
    for ((r = 1; r <= runs; r++)); do
        HUNT_EXE=$hunt "$hunt" worker --broker "$rt_url" --dir "$rt_data" -j 1 --name "cpu-split-$r" 2>/dev/null &
        wpid=$!
        sleep 1
        redis-cli -p "$rt_port" config resetstat >/dev/null
        c0=$(rt_redis_cpu)
        out=$(HUNT_EXE=$hunt /usr/bin/time -f '%U %S' -o "$rt_tmp/coordinator" "$hunt" search --json \
            -s redis --broker "$rt_url" --remote-workers --dir "$rt_data" --batch 1 --needle Doubloon 2>/dev/null) || true
        c1=$(rt_redis_cpu)
        read -r wu ws < <(awk '{ print $14, $15 }' "/proc/$wpid/stat")
        { kill -TERM "$wpid" && wait "$wpid"; } 2>/dev/null || true
        read -r co cs < <(tail -n 1 "$rt_tmp/coordinator")
        n=$(sed -n 's/.*"tasks":{"tasks":\([0-9]*\).*/\1/p' <<<"$out")
        e=$(sed -n 's/.*"elapsed_s":\([0-9.eE+-]*\).*/\1/p' <<<"$out")
        [[ -n $n && -n $e ]] || die "the hunt of round $r gave no result: $out"
        awk -v r="$r" -v n="$n" -v e="$e" -v t="$tick" -v wu="$wu" -v ws="$ws" -v co="$co" -v cs="$cs" \
            -v c0="$c0" -v c1="$c1" -v ev="$(rt_evalsha_usec)" 'BEGIN {
            printf "| %d | %.0f | %.1f | %.1f | %.1f | %.1f |\n", r, n / e, (wu + ws) / t * 1e6 / n,
                (co + cs) * 1e6 / n, (c1 - c0) * 1e6 / n, ev / n }'
    done
    echo
}

rt_redis_cpu() {
    redis-cli -p "$rt_port" info cpu | tr -d '\r' |
        awk -F: '$1 == "used_cpu_sys" || $1 == "used_cpu_user" { s += $2 } END { print s }'
}

rt_evalsha_usec() {
    redis-cli -p "$rt_port" info commandstats | tr -d '\r' |
        awk -F'[:=,]' '$1 == "cmdstat_evalsha" || $1 == "cmdstat_fcall" { u += $5 } END { print u + 0 }'
}

# The --idle part: what four idle workers cost their broker (no hunt to serve), over
# $idle_s seconds. PostgreSQL (a private server): transactions and statements, from
# `pg_stat_database` (xact_commit + xact_rollback) and `pg_stat_statements` read before
# the workers start and after they end, so their connections' set-up is inside.
# SQLite (a queue in a temporary folder): each worker process's own count of the
# statements it ran, BEGIN and COMMIT included (the `statements` column of the queue's
# `worker` table, written with each heartbeat, so up to a second behind).
idle_s=10
idle_workers() { # URL: starts four `hunt worker -j 1`, waits idle_s, SIGTERMs them
    local url=$1 i pids=()
    for i in 1 2 3 4; do
        HUNT_EXE=$hunt "$hunt" worker --broker "$url" --dir "$rt_data" -j 1 --name "idle$i" 2>/dev/null &
        pids+=($!)
    done
    sleep "$idle_s"
    for i in "${pids[@]}"; do kill -TERM "$i" 2>/dev/null || true; done
    for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
}

idle_costs() {
    rt_tmp=$(mktemp -d /tmp/hunt-broker-costs.XXXXXX)
    chmod 755 "$rt_tmp"
    trap rt_cleanup EXIT
    rt_set 100
    echo "## Four idle workers (\`hunt worker -j 1\`, no hunt to serve), ${idle_s} s"
    echo
    echo "| broker | what is counted | in all | a second, per worker |"
    echo "|:---|:---|---:|---:|"
    local x0 x1 s0 s1
    if [[ ,$available, == *,postgres,* ]] && rt_start_postgres; then
        local xacts="SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'postgres'"
        local stmts="SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'"
        # The workers make the queue's schema when they find none; made first, so that
        # its statements are not counted.
        HUNT_EXE=$hunt "$hunt" status --broker "$rt_url" >/dev/null 2>&1 || true
        HUNT_EXE=$hunt "$hunt" search -s postgres --broker "$rt_url" --dir "$rt_data" >/dev/null 2>&1 || true
        rt_psql 'SELECT pg_stat_statements_reset()' >/dev/null
        x0=$(rt_psql "$xacts")
        idle_workers "$rt_url"
        sleep 0.7 # the statistics collector's lag
        x1=$(rt_psql "$xacts") s1=$(rt_psql "$stmts")
        awk -v n="$((x1 - x0))" -v t="$idle_s" 'BEGIN { printf "| postgres | transactions (pg_stat_database) | %d | %.1f |\n", n, n / t / 4 }'
        awk -v n="$s1" -v t="$idle_s" 'BEGIN { printf "| postgres | statements (pg_stat_statements) | %d | %.1f |\n", n, n / t / 4 }'
    fi
    if [[ ,$available, == *,sqlite,* ]]; then
        local db=$rt_tmp/idle.db
        idle_workers "sqlite:$db"
        s1=$(sqlite3 "$db" "SELECT sum(statements) FROM worker WHERE name LIKE 'idle%'")
        awk -v n="$s1" -v t="$idle_s" 'BEGIN { printf "| sqlite | statements (each worker'"'"'s own count) | %d | %.1f |\n", n, n / t / 4 }'
    fi
    echo
}
