#!/bin/sh
# bench-launch.sh measures launches per second of a real imgward serve
# (SQLite) over loopback HTTP, with the load from a second process (wrk),
# as docs/BENCHMARKS.md records: plain launches (an image of the caller's
# project, no product code) and entitled ones (a subscriber's launch of an
# offered image: the entitlement read and the metering record join the
# launch's transaction), alternated in one run, so that both share the
# machine and its load. Each launch checks the token, records the instance
# and its audit entry, and signs an identity document.
#
# Besides wrk's rate it prints the server's processor time (user+sys from
# /proc) per launch, which follows the load far less than the rate does.
#
# usage: sh scripts/bench-launch.sh     (DURATION, default 8s; ROUNDS, default 2;
#        BIN, an imgward binary to measure instead of one built from the tree,
#        for A/B runs of two commits)
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-2}
dir=$(mktemp -d)
port=7491
bin=${BIN:-$dir/imgward}
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

[ -n "${BIN:-}" ] || go build -o "$bin" ./cmd/imgward
"$bin" serve --data-dir "$dir/data" --listen 127.0.0.1:$port --log-level error >"$dir/serve.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$dir/data/admin.token" ] && break; sleep 0.1; done
export IMGWARD_URL=http://127.0.0.1:$port IMGWARD_TOKEN="$(cat "$dir/data/admin.token")"
. scripts/launch-fixture.sh
token=$(fixture_tenant "$bin" bench)
seller=$(fixture_tenant "$bin" seller)
plain=$(fixture_image "$bin" "$dir" "$token")
paid=$(fixture_image "$bin" "$dir" "$seller")
offer=$(IMGWARD_TOKEN=$seller "$bin" offer create "$paid" --title bench --price 0.12 -o json | _fixture_json id)
IMGWARD_TOKEN=$token "$bin" subscription create "$offer" -o json >/dev/null
fixture_lua "$plain" "$token" "$dir/plain.lua"
fixture_lua "$paid" "$token" "$dir/paid.lua"

# cpu prints the server's user+sys clock ticks so far.
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
run() { # kind connections
	before=$(cpu)
	out=$(wrk -t1 -c"$2" -d"$DURATION" -s "$dir/$1.lua" "http://127.0.0.1:$port/v1/instances")
	after=$(cpu)
	echo "$out" | grep -E 'Non-2xx' && { echo "bench-launch: $1 launches failed" >&2; exit 1; }
	echo "$out" | awk -v k="$1" -v c="$2" -v t=$((after - before)) -v hz="$hz" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
		/requests in/ { n = $1 }
		/Requests\/sec/ { rate = $2 }
		/Latency/ { lat = $2 }
		END { printf "%-7s -c%-3s %9.0f launches/s  latency %-8s  server cpu %6.1f µs/launch  (load %s)\n",
			k, c, rate, lat, t / hz * 1e6 / n, load }'
}
echo "-- wrk -t1 -d$DURATION POST /v1/instances: plain and entitled alternated, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	for c in 16 32; do
		# ABBA: the tables grow with every run, so neither kind always
		# runs on the larger database.
		if [ $((r % 2)) = 1 ]; then
			run plain "$c"
			run paid "$c"
		else
			run paid "$c"
			run plain "$c"
		fi
	done
done
