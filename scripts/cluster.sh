#!/usr/bin/env bash
# cluster.sh runs several imgward nodes on loopback, as a cloud would run
# them behind a load balancer: one throwaway PostgreSQL (pg-test-server.sh),
# one object store for image data (a bucket of SeaweedFS's S3, s3-test-server.sh;
# or, with IMGWARD_CLUSTER_BLOB=dir, one shared blob directory), one
# key-encryption key file that every node is given (--kms-kek-file), and each
# node its own data directory. For tests and trials, never for data.
#
#   eval "$(scripts/cluster.sh start 3)"  # prints IMGWARD_NODE_1..N, IMGWARD_TOKEN, IMGWARD_URL,
#                                          # IMGWARD_CLUSTER_DIR, the PostgreSQL variables, and
#                                          # IMGWARD_CLUSTER_BLOB_URL with the S3 keys (or
#                                          # IMGWARD_CLUSTER_BLOB_DIR)
#   scripts/cluster.sh kill 2             # SIGKILL node 2, as a crash
#   scripts/cluster.sh restart 3          # stop node 3 (SIGTERM) and start it again on its address
#   scripts/cluster.sh stop               # everything, and remove IMGWARD_CLUSTER_DIR
#
# Nodes take every other setting from the environment as `imgward serve`
# does (IMGWARD_LEASE_PERIOD=2s, IMGWARD_KEY_REFRESH=1s...). IMGWARD_BIN
# names a built imgward; without it the script builds one. With
# IMGWARD_TEST_S3_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY already set
# (an S3 server of s3-test-server.sh, as make test runs one), the nodes use a
# new bucket of that server instead of starting one. Only the export lines go
# to stdout; node logs are in $IMGWARD_CLUSTER_DIR/node-N.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

# start_node N [ADDR]: starts node N (listening on ADDR, default a free port)
# and waits until it serves; its address goes to node-N.addr.
start_node() {
	local n=$1 addr=${2:-127.0.0.1:0} d i
	d=$dir/node-$n # a separate statement: local expands its words before it assigns
	mkdir -p "$d"
	: >"$d.out"
	local blob=(IMGWARD_BLOB_DIR="$dir/blobs")
	if [[ -f $dir/s3 ]]; then
		# s3 holds the bucket's URL and the keys, one per line.
		blob=(IMGWARD_BLOB="$(sed -n 1p "$dir/s3")" AWS_ACCESS_KEY_ID="$(sed -n 2p "$dir/s3")"
			AWS_SECRET_ACCESS_KEY="$(sed -n 3p "$dir/s3")")
	fi
	env IMGWARD_STORE=postgres IMGWARD_DSN="$dsn" "${blob[@]}" \
		IMGWARD_KMS=local IMGWARD_KMS_KEK_FILE=$dir/kek IMGWARD_NODE=node-$n \
		"$bin" serve --data-dir "$d" --listen "$addr" >"$d.out" 2>>"$d.log" &
	echo $! >"$d.pid"
	for i in $(seq 1 300); do
		if grep -q '^imgward serving on ' "$d.out"; then
			sed -n 's|^imgward serving on http://||p' "$d.out" >"$d.addr"
			return 0
		fi
		kill -0 "$(cat "$d.pid")" 2>/dev/null || { tail -5 "$d.log" >&2; die "node $n did not start"; }
		sleep 0.1
	done
	die "node $n did not serve within 30s"
}

start() {
	local n=${1:-3} i
	[[ $n =~ ^[1-9][0-9]?$ ]] || die "usage: $0 start N (1 to 99 nodes)"
	dir=$(mktemp -d /tmp/imgward-cluster.XXXXXX)
	chmod 700 "$dir"
	# A start that fails half way stops what it started.
	trap abort EXIT
	bin=${IMGWARD_BIN:-}
	if [[ -z $bin ]]; then
		log "building imgward"
		(cd "$here/.." && go build -o "$dir/imgward" ./cmd/imgward) >&2
		bin=$dir/imgward
	fi
	echo "$bin" >"$dir/bin"
	eval "$("$here/pg-test-server.sh" start)"
	echo "$PGTEST_DIR" >"$dir/pgtest"
	dsn=$IMGWARD_TEST_PG_DSN
	echo "$dsn" >"$dir/dsn"
	(umask 077 && head -c 32 /dev/urandom | base64 >"$dir/kek")
	case ${IMGWARD_CLUSTER_BLOB:-s3} in
	s3) start_s3 ;;
	dir) mkdir -p "$dir/blobs" ;;
	*) die "IMGWARD_CLUSTER_BLOB must be s3 or dir" ;;
	esac
	# Node 1 first: it migrates the database and creates the first admin,
	# whose token every node accepts (users live in the database).
	start_node 1
	for i in $(seq 2 "$n"); do start_node "$i"; done
	echo "export IMGWARD_CLUSTER_DIR='$dir'"
	for i in $(seq 1 "$n"); do echo "export IMGWARD_NODE_$i='http://$(cat "$dir/node-$i.addr")'"; done
	echo "export IMGWARD_URL='http://$(cat "$dir/node-1.addr")'"
	echo "export IMGWARD_TOKEN='$(tr -d '\n' <"$dir/node-1/admin.token")'"
	echo "export IMGWARD_TEST_PG_DSN='$dsn'"
	echo "export PGTEST_DIR='$PGTEST_DIR'"
	if [[ -f $dir/s3 ]]; then
		echo "export IMGWARD_CLUSTER_BLOB_URL='$(sed -n 1p "$dir/s3")'"
		echo "export AWS_ACCESS_KEY_ID='$(sed -n 2p "$dir/s3")'"
		echo "export AWS_SECRET_ACCESS_KEY='$(sed -n 3p "$dir/s3")'"
	else
		echo "export IMGWARD_CLUSTER_BLOB_DIR='$dir/blobs'"
	fi
	log "$n nodes up; logs in $dir/node-N.log"
	trap - EXIT
}

# abort undoes a failed start: the nodes, the servers and the directory.
abort() {
	local f
	for f in "$dir"/node-*.pid; do
		[[ -f $f ]] && kill -KILL "$(cat "$f")" 2>/dev/null || true
	done
	[[ -f $dir/pgtest ]] && PGTEST_DIR=$(cat "$dir/pgtest") "$here/pg-test-server.sh" stop >/dev/null 2>&1 || true
	[[ -f $dir/s3test ]] && (cd "$here/.." && S3TEST_DIR=$(cat "$dir/s3test") scripts/s3-test-server.sh stop) >/dev/null 2>&1 || true
	rm -rf "$dir"
	log "start failed; stopped what it started"
}

# start_s3 gives the nodes a new bucket of an S3 server: the one named by
# IMGWARD_TEST_S3_URL, or one started here (stopped by stop). Its URL and
# keys go to $dir/s3, readable by the owner only.
start_s3() {
	local url=${IMGWARD_TEST_S3_URL:-} ak=${AWS_ACCESS_KEY_ID:-} sk=${AWS_SECRET_ACCESS_KEY:-} bucket code
	if [[ -z $url || -z $ak || -z $sk ]]; then
		# A second try: SeaweedFS can lose a port picked as free to another
		# process starting beside it.
		local out
		out=$(cd "$here/.." && scripts/s3-test-server.sh start) ||
			out=$(cd "$here/.." && scripts/s3-test-server.sh start) ||
			die "the S3 server did not start (IMGWARD_CLUSTER_BLOB=dir runs without one)"
		eval "$out"
		echo "$S3TEST_DIR" >"$dir/s3test"
		url=$IMGWARD_TEST_S3_URL ak=$AWS_ACCESS_KEY_ID sk=$AWS_SECRET_ACCESS_KEY
	fi
	bucket=imgward-cluster-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$url/$bucket" || true)
	[[ $code == 200 ]] || die "creating bucket $bucket on $url: HTTP $code"
	(umask 077 && printf '%s\n%s\n%s\n' "s3://$bucket?endpoint=$url&region=us-east-1" "$ak" "$sk" >"$dir/s3")
}

# load reads the cluster's state from IMGWARD_CLUSTER_DIR.
load() {
	dir=${IMGWARD_CLUSTER_DIR:-}
	[[ -n $dir && -f $dir/dsn ]] || die "IMGWARD_CLUSTER_DIR does not name a cluster started by this script"
	bin=$(cat "$dir/bin")
	dsn=$(cat "$dir/dsn")
}

node_pid() {
	[[ -f $dir/node-$1.pid ]] || die "no node $1"
	cat "$dir/node-$1.pid"
}

# wait_gone PID waits up to 30s for a process to end.
wait_gone() {
	local i
	for i in $(seq 1 300); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	die "process $1 did not end"
}

kill_node() {
	load
	local pid
	pid=$(node_pid "$1")
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone "$pid"
}

restart_node() {
	load
	local pid
	pid=$(node_pid "$1")
	kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid"
	start_node "$1" "$(cat "$dir/node-$1.addr")"
}

stop() {
	load
	local f
	for f in "$dir"/node-*.pid; do
		[[ -f $f ]] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null || true
	done
	for f in "$dir"/node-*.pid; do
		[[ -f $f ]] && wait_gone "$(cat "$f")"
	done
	PGTEST_DIR=$(cat "$dir/pgtest") "$here/pg-test-server.sh" stop || true
	if [[ -f $dir/s3test ]]; then
		(cd "$here/.." && S3TEST_DIR=$(cat "$dir/s3test") scripts/s3-test-server.sh stop) || true
	fi
	rm -rf "$dir"
	log "stopped and removed $dir"
}

case ${1:-} in
start) start "${2:-3}" ;;
kill) kill_node "${2:?usage: $0 kill N}" ;;
restart) restart_node "${2:?usage: $0 restart N}" ;;
stop) stop ;;
*) die "usage: $0 start N | kill N | restart N | stop" ;;
esac
