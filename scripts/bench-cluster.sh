#!/usr/bin/env bash
# bench-cluster.sh measures launches per second on PostgreSQL over loopback
# HTTP: against one imgward node, then spread over three nodes on the same
# database, in one run, and prints both rates, their ratio and the
# processor time a launch costs in the client (wrk), the nodes and
# PostgreSQL (from /proc, user+sys), which on a shared machine follows the
# code rather than the share of the cores each got. docs/BENCHMARKS.md
# records the figures.
#
# It starts PostgreSQL and three nodes with scripts/cluster.sh. The one-node
# run drives node 1 alone (nodes 2 and 3 idle); the three-node run drives
# every node at once, one wrk each, with the same connections in all.
#
# usage: scripts/bench-cluster.sh    (DURATION, default 8s; CONNS, default 32;
#                                     ROUNDS, default 1: alternate 1/3 nodes;
#                                     IMGWARD_BIN: a built imgward, to compare
#                                     builds, else one is built;
#                                     STATEMENTS=1: PostgreSQL with
#                                     pg_stat_statements, and its table of the
#                                     first one-node run: the statements of a
#                                     launch, their calls and times)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-1}
work=$(mktemp -d)
cluster=""
cleanup() {
	if [[ -n $cluster ]]; then IMGWARD_CLUSTER_DIR=$cluster scripts/cluster.sh stop >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

bin=${IMGWARD_BIN:-}
if [[ -z $bin ]]; then
	go build -o "$work/imgward" ./cmd/imgward
	bin=$work/imgward
fi
# Image data in a shared directory: a launch reads none, and no object store
# need start.
if [[ ${STATEMENTS:-} == 1 ]]; then
	export PGTEST_OPTS='-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on'
fi
eval "$(IMGWARD_BIN=$bin IMGWARD_CLUSTER_BLOB=dir scripts/cluster.sh start 3)"
cluster=$IMGWARD_CLUSTER_DIR

. scripts/launch-fixture.sh
launch_fixture "$bin" "$work"

nodepids="$(cat "$cluster"/node-*.pid | tr '\n' ' ')"
postmaster=$(head -1 "$PGTEST_DIR/data/postmaster.pid" 2>/dev/null || head -1 "$PGTEST_DIR"/*/postmaster.pid)

# ticks PIDS...: the user+sys clock ticks of the processes, and of their
# children that ended (PostgreSQL's backends are children of the postmaster
# that live as long as their connections).
ticks() {
	local p
	# Fields 14-17, counted after the command, which may hold spaces; a
	# backend that ended meanwhile is skipped (its time is its parent's).
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
		sed 's/.*) //' | awk '{ t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}
pgpids() { echo "$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"; }
hz=$(getconf CLK_TCK)

# run LABEL URL...: wrk against each URL at once, CONNS connections in all;
# prints the rate and processor time per launch.
run() {
	local label=$1 n i total=0 c pg0 nd0 pg1 nd1 t0 t1
	shift
	n=$#
	c=$(((CONNS + n - 1) / n))
	pg0=$(ticks $(pgpids))
	nd0=$(ticks $nodepids)
	t0=$(date +%s.%N)
	i=0
	for url in "$@"; do
		i=$((i + 1))
		/usr/bin/time -f '%U %S' -o "$work/wrk-$i.time" \
			wrk -t1 -c"$c" -d"$DURATION" -s "$work/post.lua" "$url/v1/instances" >"$work/wrk-$i.out" &
	done
	wait
	t1=$(date +%s.%N)
	# Backends whose connections the end of the run cut exit now: let the
	# postmaster reap them, so that their time is counted as its children's.
	sleep 1
	pg1=$(ticks $(pgpids))
	nd1=$(ticks $nodepids)
	local reqs=0 non2xx=0 wrkcpu=0
	for i in $(seq 1 "$n"); do
		reqs=$((reqs + $(awk '/requests in/ {print $1}' "$work/wrk-$i.out")))
		non2xx=$((non2xx + $(awk '/Non-2xx/ {print $NF} END {print 0}' "$work/wrk-$i.out" | head -1)))
		wrkcpu=$(awk -v a="$wrkcpu" '{print a + $1 + $2}' "$work/wrk-$i.time")
	done
	awk -v l="$label" -v r="$reqs" -v bad="$non2xx" -v s0="$t0" -v s1="$t1" -v hz="$hz" \
		-v pg="$((pg1 - pg0))" -v nd="$((nd1 - nd0))" -v w="$wrkcpu" -v c="$CONNS" 'BEGIN {
		sec = s1 - s0; cpu = pg / hz + nd / hz + w
		printf "%-8s %8.0f launches/s  (%d in %.1fs, %d non-2xx, %d connections)\n", l, r / sec, r, sec, bad, c
		printf "         cpu per launch: client %.0f us, nodes %.0f us, postgres %.0f us, total %.0f us  (%.0f launches/cpu-s)\n",
			w * 1e6 / r, nd / hz * 1e6 / r, pg / hz * 1e6 / r, cpu * 1e6 / r, r / cpu
	}' | tee -a "$work/results"
	awk -v l="$label" -v r="$reqs" -v s0="$t0" -v s1="$t1" 'BEGIN { print l, r / (s1 - s0) }' >>"$work/rates"
}

echo "-- launches on PostgreSQL: one node, then three ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
# A short warm-up: connections, statement caches, the first pages.
DURATION=2s run warmup "$IMGWARD_NODE_1" "$IMGWARD_NODE_2" "$IMGWARD_NODE_3" >/dev/null
: >"$work/rates"
# statements: pg_stat_statements of what ran since the last reset, per
# launch (calls, and processor-bound time: execution and planning).
statements() {
	psql -X -q "$IMGWARD_TEST_PG_DSN" -c "SELECT calls, round(mean_exec_time::numeric * 1000, 1) AS exec_us,
		round((total_plan_time / NULLIF(calls, 0))::numeric * 1000, 1) AS plan_us, rows,
		left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement
	FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time + total_plan_time DESC LIMIT 15"
}
if [[ ${STATEMENTS:-} == 1 ]]; then
	psql -X -q "$IMGWARD_TEST_PG_DSN" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' \
		-c 'SELECT pg_stat_statements_reset()' >/dev/null
	run 1-node "$IMGWARD_NODE_1"
	statements
	: >"$work/rates" # not a round's
fi
for _ in $(seq 1 "$ROUNDS"); do
	run 1-node "$IMGWARD_NODE_1"
	run 3-nodes "$IMGWARD_NODE_1" "$IMGWARD_NODE_2" "$IMGWARD_NODE_3"
done
awk '{ s[$1] += $2; n[$1]++ } END {
	one = s["1-node"] / n["1-node"]; three = s["3-nodes"] / n["3-nodes"]
	printf "3 nodes / 1 node: %.2fx  (%.0f vs %.0f launches/s, mean of %d rounds)\n", three / one, three, one, n["1-node"]
}' "$work/rates"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
