#!/usr/bin/env bash
# pg-test-server.sh starts and stops a throwaway PostgreSQL server for the
# tests of store/postgres: a new cluster in a temporary directory, listening
# on 127.0.0.1 only, trusting every local connection. Never use it for data.
#
#   eval "$(scripts/pg-test-server.sh start)"   # exports IMGWARD_TEST_PG_DSN, PGTEST_DIR
#   go test ./store/...
#   scripts/pg-test-server.sh stop              # uses PGTEST_DIR
#   scripts/pg-test-server.sh pause | resume    # stop the server, keeping its data, and start it again
#
# PGTEST_OPTS adds server options to start and resume, e.g. for a benchmark
# run only: PGTEST_OPTS='-c shared_preload_libraries=pg_stat_statements'.
#
# start installs Debian's postgresql package if no server is found (as root),
# and runs the server as the postgres user when run as root, since
# PostgreSQL refuses to run as root. Only the export lines go to stdout.
set -euo pipefail

log() { echo "pg-test-server: $*" >&2; }
die() { log "error: $*"; exit 1; }

# find_bin prints the directory of initdb and pg_ctl, newest version first.
find_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

install_server() {
	[[ $(id -u) == 0 ]] || die "no PostgreSQL server found; install the postgresql package"
	log "installing postgresql"
	export DEBIAN_FRONTEND=noninteractive
	# The package's own cluster is not started here: we run ours.
	if ! apt-get install -y -q postgresql >&2; then
		apt-get update -q >&2
		apt-get install -y -q postgresql >&2
	fi
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, in
# 55432-55532, starting at a random one: two servers started at once would
# otherwise both pick the first free port, and one of them fail to bind.
free_port() {
	local port off=$((RANDOM % 101))
	for port in $(seq $((55432 + off)) 55532) $(seq 55432 $((55431 + off))); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port in 55432-55532"
}

# as_owner runs a command as the owner of the cluster: postgres when we
# are root, else ourselves.
# It runs in /, which the postgres user can read, unlike, perhaps, ours.
as_owner() {
	if [[ $(id -u) == 0 ]]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

start() {
	local bin dir port
	bin=$(find_bin) || { install_server; bin=$(find_bin) || die "initdb not found after install"; }
	dir=$(mktemp -d /tmp/imgward-pgtest.XXXXXX)
	if [[ $(id -u) == 0 ]]; then
		id postgres >/dev/null 2>&1 || die "no postgres user; install the postgresql package"
		chown postgres: "$dir"
	fi
	chmod 700 "$dir"
	as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null \
		|| die "initdb failed"
	# The port is free when chosen but may be taken before the server binds
	# it (another server starting at the same moment): then try another.
	local try
	for try in 1 2 3 4 5; do
		port=$(free_port)
		echo "$port" >"$dir/port"
		# fsync off: a test server need not survive a crash, and tests run faster.
		if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200 ${PGTEST_OPTS:-}" \
			start >&2; then
			break
		fi
		grep -q "Address already in use" "$dir/log" && ((try < 5)) && { log "port $port taken meanwhile; trying another"; : >"$dir/log"; continue; }
		cat "$dir/log" >&2
		die "server did not start"
	done
	echo "${PGTEST_OPTS:-}" >"$dir/opts"
	log "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
	echo "export IMGWARD_TEST_PG_DSN='postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable'"
	echo "export PGTEST_DIR='$dir'"
}

stop() {
	local dir=${PGTEST_DIR:-} bin
	[[ -n $dir && -d $dir/data ]] || die "PGTEST_DIR does not name a server started by this script"
	bin=$(find_bin) || die "pg_ctl not found"
	as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || log "server was not running"
	rm -rf "$dir"
	log "stopped and removed $dir"
}

# pause stops the server and keeps its data, to test what happens while the
# database is down; resume starts it again on the same port.
pause() {
	local dir=${PGTEST_DIR:-} bin
	[[ -n $dir && -d $dir/data ]] || die "PGTEST_DIR does not name a server started by this script"
	bin=$(find_bin) || die "pg_ctl not found"
	as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2
}

resume() {
	local dir=${PGTEST_DIR:-} bin port
	[[ -n $dir && -f $dir/port ]] || die "PGTEST_DIR does not name a server started by this script"
	bin=$(find_bin) || die "pg_ctl not found"
	port=$(cat "$dir/port")
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200 $(cat "$dir/opts" 2>/dev/null)" \
		start >&2 || { cat "$dir/log" >&2; die "server did not start again"; }
}

case ${1:-} in
start) start ;;
stop) stop ;;
pause) pause ;;
resume) resume ;;
*) die "usage: $0 start|stop|pause|resume" ;;
esac
