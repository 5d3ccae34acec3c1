#!/bin/sh
# bench-release.sh measures key releases (POST /v1/keys/release) of a real
# imgward serve over loopback HTTP, with the load from a second process
# (wrk), as scripts/bench-launch.sh measures launches: the server's own
# figure, without the Go HTTP clients that BenchmarkRelease (./server/)
# runs in its process. docs/BENCHMARKS.md records both and says what each
# measures.
#
# The fixture: a project "owner" with an image sealed whole (--protect full,
# 1 MiB), shared with a project "member" that accepts it, and for each round
# DOCS live instances of it launched by the member's user (with wrk, whose
# script keeps each launch's identity document). Each document is presented
# once, with a fresh nonce, well within its validity (15 minutes); the
# release's wrk script cycles through them at CONNS connections and stops
# the run as failed if they run out. Every release verifies the document,
# spends its nonce, checks instance, membership and key record, unwraps the
# data key, wraps it to an ephemeral P-256 key (one for the run) and audits,
# with SQLite's synchronous commit.
#
# It prints releases/s, p50 and p99 (wrk --latency), and the processor time
# per release of the node (user+sys from /proc) and of wrk (/usr/bin/time),
# with the load average. Any answer but 200 fails the run: a run with
# refusals is a failed run, not a fast one.
#
# STORE=postgres serves the node on a throwaway PostgreSQL
# (scripts/pg-test-server.sh) instead, and adds PostgreSQL's processor time
# a release: the postmaster's and its backends' user+sys, and that of the
# backends that ended (as scripts/bench-cluster.sh counts it).
#
# usage: sh scripts/bench-release.sh   (DURATION, default 5s; ROUNDS,
#        default 2; CONNS, default 16; DOCS, documents a round, default
#        90000; STORE, sqlite (default) or postgres; IMGWARD_BIN, an imgward
#        binary to measure instead of one built from the tree, for A/B runs
#        of two commits)
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-16}
DOCS=${DOCS:-90000}
STORE=${STORE:-sqlite}
PY=/usr/bin/python3
dir=$(mktemp -d)
bin=${IMGWARD_BIN:-$dir/imgward}
pid=""
pgdir=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$pgdir" ] && PGTEST_DIR=$pgdir scripts/pg-test-server.sh stop >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

[ -n "${IMGWARD_BIN:-}" ] || go build -o "$bin" ./cmd/imgward
store="--store sqlite"
postmaster=""
if [ "$STORE" = postgres ]; then
	eval "$(scripts/pg-test-server.sh start)"
	pgdir=$PGTEST_DIR
	store="--store postgres --dsn $IMGWARD_TEST_PG_DSN"
	postmaster=$(head -1 "$pgdir/data/postmaster.pid" 2>/dev/null || head -1 "$pgdir"/*/postmaster.pid)
fi
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
"$bin" serve $store --data-dir "$dir/data" --listen 127.0.0.1:"$port" --log-level error >"$dir/serve.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$dir/data/admin.token" ] && break; sleep 0.1; done
[ -s "$dir/data/admin.token" ] || { cat "$dir/serve.out" >&2; exit 1; }
url=http://127.0.0.1:$port
export IMGWARD_URL=$url IMGWARD_TOKEN="$(cat "$dir/data/admin.token")"

. scripts/launch-fixture.sh
owner=$(fixture_tenant "$bin" owner)
member_project=$("$bin" project create member -o json | _fixture_json id)
member=$("$bin" user create member --project "$member_project" -o json 2>/dev/null | _fixture_json token)
head -c 1048576 /dev/urandom >"$dir/disk.img"
image=$(IMGWARD_TOKEN=$owner "$bin" image create sealed --disk-format raw --container-format bare --protect full -o json | _fixture_json id)
IMGWARD_TOKEN=$owner "$bin" image upload "$image" "$dir/disk.img" >/dev/null
IMGWARD_TOKEN=$owner "$bin" image share "$image" "$member_project" >/dev/null
IMGWARD_TOKEN=$member "$bin" image accept "$image" >/dev/null

# The requester's ephemeral key: one public JWK for the run (the server
# makes a fresh ephemeral key of its own for every JWE).
jwk=$($PY -c '
import base64
from cryptography.hazmat.primitives.asymmetric import ec
n = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
b = lambda v: base64.urlsafe_b64encode(v.to_bytes(32, "big")).rstrip(b"=").decode()
print("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}" % (b(n.x), b(n.y)))')

# issue.lua launches instances as the member and appends each identity
# document to the file of its first argument; once it has DOCS of them it
# closes it and writes the file of its second, and issue ends wrk.
cat >"$dir/issue.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"image_id":"$image","host":"hv-1"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Auth-Token"] = "$member"
local out, marker, n = nil, nil, 0
function init(args) out, marker = assert(io.open(args[1], "w")), args[2] end
function response(status, headers, body)
	if n >= $DOCS then return end -- launches in flight at the end
	local doc = status == 201 and body:match('"identity"%s*:%s*"([^"]+)"')
	if not doc then error("launch answered " .. status .. ": " .. body) end
	out:write(doc, "\n")
	n = n + 1
	if n >= $DOCS then
		out:close()
		local f = io.open(marker, "w"); f:close()
	end
end
LUA
# release.lua presents each document of the file once; when they run out
# it writes the file named by its second argument and repeats the last
# one, which the server refuses: the run fails.
cat >"$dir/release.lua" <<LUA
local docs, i, marker = {}, 0, nil
local head = '{"image_id":"$image","public_key":$jwk,"identity":"'
local hdr = { ["Content-Type"] = "application/json" }
function init(args)
	for line in io.lines(args[1]) do docs[#docs + 1] = line end
	marker = args[2]
end
function request()
	i = i + 1
	if i > #docs then
		i = #docs
		local f = io.open(marker, "w"); f:write("out of documents\n"); f:close()
	end
	return wrk.format("POST", "/v1/keys/release", hdr, head .. docs[i] .. '"}')
end
LUA

# cpu prints the server's user+sys clock ticks so far (fields 14 and 15;
# the command, imgward, holds no space).
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# pgcpu prints PostgreSQL's: the postmaster's and its live children's
# user+sys and those of its children that ended (fields 14-17 counted
# after the command), 0 without PostgreSQL.
pgcpu() {
	[ -n "$postmaster" ] || { echo 0; return; }
	for p in $postmaster $(pgrep -P "$postmaster"); do cat "/proc/$p/stat" 2>/dev/null || true; done |
		sed 's/.*) //' | awk '{ t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}
hz=$(getconf CLK_TCK)
issue() {
	rm -f "$dir/docs" "$dir/issued"
	wrk -t1 -c16 -d600s -s "$dir/issue.lua" "$url/v1/instances" -- "$dir/docs" "$dir/issued" >"$dir/issue.out" 2>&1 &
	wrkpid=$!
	while [ ! -e "$dir/issued" ] && kill -0 "$wrkpid" 2>/dev/null; do sleep 0.2; done
	kill -INT "$wrkpid" 2>/dev/null || true
	wait "$wrkpid" || true
	n=$(wc -l <"$dir/docs")
	[ -e "$dir/issued" ] && [ "$n" -ge "$DOCS" ] || { cat "$dir/issue.out" >&2; echo "bench-release: $n documents issued, want $DOCS" >&2; exit 1; }
}
release() { # label
	rm -f "$dir/exhausted"
	load=$(cut -d' ' -f1 /proc/loadavg)
	before=$(cpu)
	pgbefore=$(pgcpu)
	/usr/bin/time -f '%U %S' -o "$dir/wrk.time" wrk -t1 -c"$CONNS" -d"$DURATION" --latency \
		-s "$dir/release.lua" "$url/v1/keys/release" -- "$dir/docs" "$dir/exhausted" >"$dir/release.out"
	after=$(cpu)
	sleep 1 # backends whose connections ended are reaped: their time is the postmaster's children's
	pgafter=$(pgcpu)
	if [ -e "$dir/exhausted" ]; then
		echo "bench-release: the run used more than $DOCS documents; raise DOCS" >&2
		exit 1
	fi
	if grep -qE 'Non-2xx|Socket errors' "$dir/release.out"; then
		cat "$dir/release.out" >&2
		echo "bench-release: releases failed or were refused" >&2
		exit 1
	fi
	awk -v l="$1" -v t=$((after - before)) -v pg=$((pgafter - pgbefore)) -v store="$STORE" -v hz="$hz" -v load="$load" -v c="$CONNS" -v w="$(cat "$dir/wrk.time")" '
		function ms(s) { if (s ~ /us$/) return s / 1000; if (s ~ /ms$/) return s + 0; if (s ~ /s$/) return s * 1000; return s }
		/requests in/ { n = $1 }
		/Requests\/sec/ { rate = $2 }
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		END {
			split(w, u, " "); node = t / hz * 1e6 / n; client = (u[1] + u[2]) * 1e6 / n; db = pg / hz * 1e6 / n
			printf "%-6s %-8s -c%-3s %7.0f releases/s  p50 %5.2f ms  p99 %6.2f ms  cpu per release: node %5.1f µs, wrk %4.1f µs",
				l, store, c, rate, p50, p99, node, client
			if (store == "postgres") printf ", postgres %5.1f µs", db
			printf ", all %5.1f µs  (%d in %s, load %s)\n", node + client + db, n, "'"$DURATION"'", load }' "$dir/release.out"
}

echo "-- key releases over loopback HTTP from wrk, $STORE: $CONNS connections, $DURATION a round, $ROUNDS rounds ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for r in $(seq "$ROUNDS"); do
	issue
	release "round $r"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
