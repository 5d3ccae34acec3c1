#!/bin/sh
# bench-launch.sh measures launches per second of a real imgward serve
# (SQLite) over loopback HTTP, with the load from a second process (wrk),
# as docs/BENCHMARKS.md records. Each launch checks the token, records the
# instance and its audit entry, and signs an identity document.
#
# usage: sh scripts/bench-launch.sh     (DURATION, default 8s)
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
dir=$(mktemp -d)
port=7491
bin=$dir/imgward
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

go build -o "$bin" ./cmd/imgward
"$bin" serve --data-dir "$dir/data" --listen 127.0.0.1:$port --log-level error >"$dir/serve.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$dir/data/admin.token" ] && break; sleep 0.1; done
export IMGWARD_URL=http://127.0.0.1:$port IMGWARD_TOKEN="$(cat "$dir/data/admin.token")"
. scripts/launch-fixture.sh
launch_fixture "$bin" "$dir"
for c in 16 32; do
	echo "-- wrk -t1 -c$c -d$DURATION POST /v1/instances"
	wrk -t1 -c"$c" -d"$DURATION" -s "$dir/post.lua" "http://127.0.0.1:$port/v1/instances" | grep -E 'Latency|Requests/sec|Non-2xx'
done
