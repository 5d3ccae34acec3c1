#!/bin/sh
# bench.sh runs the benchmarks recorded in docs/BENCHMARKS.md, in one run so
# that their numbers share a machine and a load:
#
#   1. detectors against scikit-learn: scripts/bench-sklearn.py (IsolationForest
#      on CIC-MalMem-2022) and imgward eval with each detector on the same rows,
#      printed side by side as ratios; then go test -bench ScoreMalMem, which
#      times scoring alone on parsed rows, as score_samples does, and
#      PipelineMalMem, the default detector scoring replayed snapshots
#      through detect/pipeline on one goroutine, as the service does (and
#      PipelineMalMemCopula, the copula that speed refused); then the
#      leave-one-family-out selection (go test -bench Select, which fails if it
#      does not choose the shipped defaults) and imgward eval --recurrent on
#      ADFA-LD (go test -bench EvalADFARecurrent, which fails if it costs more
#      than 0.02 of AUC against the default, docs/EVALUATION.md), and the
#      sequence models' cost per call (go test -bench SequenceModel
#      ./detect/trace/);
#   2. go test -bench on seal, fingerprint, detect and server (the server's
#      need the throwaway PostgreSQL of scripts/pg-test-server.sh), with
#      issue 11's three speed goals summed up from them (the audit's cost to
#      a launch, key releases, one stream's unsealing), and the cost of
#      authentication by Keystone against imgward's tokens (api);
#   3. sealing against raw AES-256-GCM, the age CLI and skopeo's layer
#      encryption: scripts/bench-seal.sh;
#   4. guest-memory introspection: scans of real QEMU guests of about 50
#      and 500 processes (scripts/testguest.sh), how long the guest is
#      paused, and the QMP-only snapshot in the same run
#      (go test -bench ScanGuest ./introspect/vmi/guest/);
#   5. launches over loopback HTTP from wrk: one SQLite node, plain and
#      entitled (paid images) alternated (scripts/bench-launch.sh), then one
#      and three nodes on one PostgreSQL, side by side with their ratio
#      (scripts/bench-cluster.sh); and paid-image usage reports over
#      1,000,000 metered instances (go test -bench Usage ./store/sqlite/);
#   6. key releases over loopback HTTP from wrk against one node on SQLite,
#      then on PostgreSQL (scripts/bench-release.sh): the server's own
#      processor time a release, beside BenchmarkRelease's, whose clients
#      share its process.
#
# usage: sh scripts/bench.sh        (from the module root; make bench)
# Environment: BENCHTIME (default 2s), DATA (default ../shared/data).
set -eu

cd "$(dirname "$0")/.."
BENCHTIME=${BENCHTIME:-2s}
DATA=${DATA:-../shared/data}
MM=$DATA/cic-malmem-2022/malmem-dev.csv
PY=/usr/bin/python3
out=$(mktemp -d)
pgdir=""
cleanup() {
	if [ -n "$pgdir" ]; then PGTEST_DIR=$pgdir scripts/pg-test-server.sh stop >/dev/null 2>&1 || true; fi
	rm -rf "$out"
}
trap cleanup EXIT INT TERM

if [ -x scripts/test-deps.sh ] || [ -f scripts/test-deps.sh ]; then sh scripts/test-deps.sh bench; fi
[ -f "$MM" ] || { echo "bench: no data at $MM (set DATA)" >&2; exit 1; }

echo "== detectors vs scikit-learn on $MM ($(nproc) cores)"
go build -o "$out/imgward" ./cmd/imgward
# Both train on every other Benign row and score the other rows, so that no
# scored row was trained on and both score the same 11,020 rows.
awk -F, 'NR == 1 || ($1 == "Benign" && NR % 2 == 0)' "$MM" >"$out/mm-train.csv"
awk -F, 'NR == 1 || !($1 == "Benign" && NR % 2 == 0)' "$MM" >"$out/mm-test.csv"
$PY scripts/bench-sklearn.py "$out/mm-test.csv" --train "$out/mm-train.csv" | tee "$out/sklearn.json"
for det in iforest copula ensemble zscore hbos ecod ecodx; do
	for procs in 1 "$(nproc)"; do
		GOMAXPROCS=$procs "$out/imgward" eval --train "$out/mm-train.csv" --test "$out/mm-test.csv" \
			--label-col Class --normal Benign --detector "$det" --json >"$out/go-$det-$procs.json"
	done
done
$PY - "$out" <<'PY'
import json, os, sys
d = sys.argv[1]
sk = json.load(open(os.path.join(d, "sklearn.json")))
print("%-10s %5s %14s %8s %9s %10s" % ("detector", "procs", "rows/s", "AUC", "speed/sk", "AUC-sk"))
print("%-10s %5s %14.0f %8.4f %9s %10s" % ("sklearn-if", 1, sk["rows_per_second"], sk["auc"], "1.00x", "0"))
for f in sorted(os.listdir(d)):
    if not f.startswith("go-"):
        continue
    _, det, procs = f[:-5].split("-")
    r = json.load(open(os.path.join(d, f)))
    auc = r["instance"]["auc"]
    print("%-10s %5s %14.0f %8.4f %8.2fx %+10.4f" % (det, procs, r["rows_per_second"], auc,
          r["rows_per_second"] / sk["rows_per_second"], auc - sk["auc"]))
PY
echo "-- scoring alone on parsed rows, one goroutine and every processor, and through the pipeline from snapshots (go test ./evaluate -bench 'ScoreMalMem|PipelineMalMem')"
go test -run '^$' -bench 'ScoreMalMem|PipelineMalMem' -benchtime "$BENCHTIME" ./evaluate/ | tee "$out/score.txt" | grep -E 'rows/s|^ok|FAIL' || true
echo "-- the same on one core (GOMAXPROCS=1), as scikit-learn scores"
GOMAXPROCS=1 go test -run '^$' -bench 'ScoreMalMem/(copula|ensemble)$|PipelineMalMem' -benchtime "$BENCHTIME" ./evaluate/ | sed 's/^\(Benchmark[^ \t]*\)/\1-1core/' | tee -a "$out/score.txt" | grep -E 'rows/s|^ok|FAIL' || true
# Wall-clock rates, and rates per second of processor time, which on a
# shared machine follow the code rather than the share of a core it got.
sk=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows_per_second"])' "$out/sklearn.json")
skcpu=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows_per_cpu_second"])' "$out/sklearn.json")
awk -v sk="$sk" -v skcpu="$skcpu" '/^Benchmark(Score|Pipeline)MalMem/ { w = c = 0
	for (i = 2; i <= NF; i++) { if ($(i) == "rows/s") w = $(i-1); if ($(i) == "rows/cpu-s") c = $(i-1) }
	printf "%-36s %12.0f rows/s  %6.2fx scikit-learn", $1, w, w / sk
	if (c > 0) printf "   %12.0f rows/cpu-s  %6.2fx", c, c / skcpu
	printf "\n" }' "$out/score.txt"

echo "-- leave-one-family-out selection on ADFA-LD and CIC-MalMem-2022 (20 to 50 minutes; fails if the"
echo "   selected configuration is not the shipped default)"
go test -run '^$' -bench Select -benchtime 1x -timeout 90m ./evaluate/ | grep -E 'auc|^ok|FAIL|---|select' || true

echo "-- ADFA-LD with the recurrent language model, train -> validation + attack (a few minutes)"
go test -run '^$' -bench EvalADFARecurrent -benchtime 1x -timeout 30m ./evaluate/ | grep -E 'auc|^ok|FAIL|---' || true
echo "-- sequence models' cost: fit on 800 synthetic traces, processor time per call scored"
go test -run '^$' -bench SequenceModel -benchtime 2x ./detect/trace/ | grep -E '^Benchmark|^ok|FAIL' || true

echo "== go test -bench (seal, fingerprint, detect, server)"
pkgs="./seal/ ./fingerprint/ ./detect/"
if [ -f scripts/pg-test-server.sh ]; then
	eval "$(scripts/pg-test-server.sh start)"
	pgdir=${PGTEST_DIR:-}
	pkgs="$pkgs ./server/"
else
	echo "bench: scripts/pg-test-server.sh is missing; skipping ./server/" >&2
fi
# shellcheck disable=SC2086
go test -run '^$' -bench . -benchtime "$BENCHTIME" $pkgs | tee "$out/go.txt"
# Issue 11's goals from those runs, side by side: the audit's cost to a
# launch (SQLite with and without its audit entries, sqlite-noaudit), key
# releases at 16 in flight, and one stream's unsealing against raw AES-GCM,
# each also by processor time (docs/BENCHMARKS.md).
awk '/^Benchmark/ { n = $1; sub(/-[0-9]+$/, "", n)
	for (i = 2; i <= NF; i++) v[n, $(i)] = $(i-1) }
END {
	a = "BenchmarkLaunch/sqlite/launch"; z = "BenchmarkLaunch/sqlite-noaudit/launch"
	if (v[a, "launches/s"] > 0 && v[z, "launches/s"] > 0)
		printf "audit cost to a launch: %.0f vs %.0f launches/s without it (%+.1f%%); %.0f vs %.0f cpu-us each (%+.1f%%)   goal: within 10%%\n",
			v[a, "launches/s"], v[z, "launches/s"], 100 * (v[a, "launches/s"] / v[z, "launches/s"] - 1),
			v[a, "cpu-us/op"], v[z, "cpu-us/op"], 100 * (v[a, "cpu-us/op"] / v[z, "cpu-us/op"] - 1)
	r = "BenchmarkRelease/clients=8xcores"
	if (v[r, "releases/s"] > 0)
		printf "key releases, 16 in flight: %.0f/s, p99 %.1f ms, %.0f cpu-us each   goal: >= 10000/s, p99 < 5 ms\n",
			v[r, "releases/s"], v[r, "p99-ms"], v[r, "cpu-us/op"]
	o = "BenchmarkRawAESGCM/open"; u = "BenchmarkUnseal/from=memory"
	if (v[o, "MB/cpu-s"] > 0 && v[u, "MB/cpu-s"] > 0)
		printf "one stream unsealed: %.2fx raw AES-256-GCM open (wall), %.2fx by processor time   goal: >= 0.9x\n",
			v[u, "MB/s"] / v[o, "MB/s"], v[u, "MB/cpu-s"] / v[o, "MB/cpu-s"]
}' "$out/go.txt"

echo "== authentication: an imgward token and a cached Keystone token, p99 of each (go test -bench Auth ./api/)"
go test -run '^$' -bench Auth -benchtime "$BENCHTIME" ./api/ | tee "$out/auth.txt"

sh scripts/bench-seal.sh | tee "$out/seal.txt"

echo "== guest-memory introspection: real guests of ~50 and ~500 processes, and synthetic ones"
go test -run '^$' -bench 'ScanGuest|ScanSynthetic' -benchtime "$BENCHTIME" ./introspect/vmi/guest/ | tee "$out/vmi.txt"

echo "== launches over loopback HTTP, load from wrk: plain and entitled (paid images), alternated"
sh scripts/bench-launch.sh

echo "== launches on PostgreSQL: one node, then three on one database (scripts/bench-cluster.sh)"
ROUNDS=2 bash scripts/bench-cluster.sh

echo "== paid images: usage reports over 1,000,000 metered instances (fails over 1 s of processor time)"
go test -run '^$' -bench Usage -benchtime 3x ./store/sqlite/ | tee "$out/usage.txt"

echo "== key releases over loopback HTTP, load from wrk (scripts/bench-release.sh): SQLite, then PostgreSQL"
sh scripts/bench-release.sh
STORE=postgres ROUNDS=1 sh scripts/bench-release.sh

echo "== summary"
grep -hE '^Benchmark' "$out/score.txt" "$out/go.txt" "$out/vmi.txt" "$out/usage.txt" | awk '{
	line = $1; for (i = 2; i <= NF; i++) if ($(i) ~ /\/s$|^ns\/op$/) line = line "  " $(i-1) " " $(i); print line }'
