#!/bin/sh
# bench-seal.sh measures sealing and unsealing throughput side by side, in
# one run, for docs/BENCHMARKS.md:
#
#   - imgward's seal format v1 (go test -bench on ./seal/: single stream and
#     parallel chunks) against raw AES-256-GCM in Go on the same buffer;
#   - the age CLI (X25519 recipient) encrypting and decrypting a file of
#     SIZE_MB random bytes;
#   - skopeo encrypting the same bytes as the one layer of an OCI image
#     (--encryption-key jwe:pub.pem, ocicrypt's JWE keywrap over AES-256-GCM)
#     and decrypting it again (--decryption-key). This is Debian's skopeo
#     (1.9.3, ocicrypt 1.0.3) from PATH, as docs/BENCHMARKS.md records: JWE
#     needs no key provider, so the skopeo that scripts/skopeo-build.sh
#     builds for TestSkopeoInterop is not needed here.
#
# The Go figures are in memory; the CLI figures include process start and
# reading and writing files in the page cache (tmpfs when TMPDIR is one), so
# they are the cost a user of that tool pays, not its cipher's alone.
#
# usage: sh scripts/bench-seal.sh    (from the module root; scripts/bench.sh)
# Environment: SIZE_MB (default 256), BENCHTIME (default 2s).
set -eu

cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-256}
BENCHTIME=${BENCHTIME:-2s}
for p in age age-keygen skopeo openssl; do
	command -v "$p" >/dev/null || { echo "bench-seal: $p is missing (scripts/test-deps.sh bench)" >&2; exit 1; }
done
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT INT TERM

now() { date +%s.%N; }
# rate NAME START END: MB/s of SIZE_MB bytes between START and END.
rate() { awk -v n="$1" -v s="$2" -v e="$3" -v mb="$SIZE_MB" 'BEGIN { printf "%s %.1f\n", n, mb * 1.048576 / (e - s) }'; }

echo "== sealing throughput, $SIZE_MB MiB, $(nproc) cores"
go test -run '^$' -bench '^Benchmark(RawAESGCM|Seal|Unseal|SealParallel|UnsealParallel)$' \
	-benchtime "$BENCHTIME" ./seal/ | tee "$w/go.txt" | grep -E '^(ok|FAIL)' || true
# Each line: name, MB/s, and for the single-stream benchmarks MB per second
# of the benchmark thread's processor time (MB/cpu-s), which follows the
# code rather than the load on a shared machine.
awk '/^Benchmark/ { w = c = 0; for (i = 2; i <= NF; i++) { if ($(i) == "MB/s") w = $(i-1); if ($(i) == "MB/cpu-s") c = $(i-1) }
	sub(/-[0-9]+$/, "", $1); print "go:" substr($1, 10), w, c }' "$w/go.txt" >"$w/rates"

head -c $((SIZE_MB << 20)) /dev/urandom >"$w/data"

# age: one X25519 recipient, binary output.
age-keygen -o "$w/age.key" 2>/dev/null
rcpt=$(age-keygen -y "$w/age.key")
s=$(now); age -e -r "$rcpt" -o "$w/data.age" "$w/data"; e=$(now)
rate cli:age-encrypt "$s" "$e" >>"$w/rates"
s=$(now); age -d -i "$w/age.key" -o "$w/data.back" "$w/data.age"; e=$(now)
rate cli:age-decrypt "$s" "$e" >>"$w/rates"
cmp -s "$w/data" "$w/data.back" || { echo "bench-seal: age round trip differs" >&2; exit 1; }
rm -f "$w/data.age" "$w/data.back"

# skopeo: the bytes as the layer of a one-layer OCI image in a layout,
# copied to another layout with the layer encrypted, then back decrypted.
# blob FILE MEDIATYPE: move FILE into the layout's blobs, print its descriptor.
blob() {
	d=$(sha256sum "$1" | cut -d' ' -f1)
	n=$(wc -c <"$1")
	mv "$1" "$w/src/blobs/sha256/$d"
	printf '{"mediaType":"%s","digest":"sha256:%s","size":%d}' "$2" "$d" "$n"
}
# skopeo gzips an uncompressed layer before it encrypts it, which would time
# gzip: the layer is given gzipped already (random bytes do not shrink), so
# that skopeo encrypts it as it is.
mkdir -p "$w/src/blobs/sha256"
diff=sha256:$(sha256sum "$w/data" | cut -d' ' -f1)
gzip -1 -c "$w/data" >"$w/layer"
cp "$w/layer" "$w/layer.gz"
layer=$(blob "$w/layer" application/vnd.oci.image.layer.v1.tar+gzip)
gz=$(echo "$layer" | sed 's/.*"digest":"sha256:\([^"]*\)".*/\1/')
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' "$diff" >"$w/cfg"
cfg=$(blob "$w/cfg" application/vnd.oci.image.config.v1+json)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
	"$cfg" "$layer" >"$w/man"
man=$(blob "$w/man" application/vnd.oci.image.manifest.v1+json)
man=$(echo "$man" | sed 's/}$/,"annotations":{"org.opencontainers.image.ref.name":"v1"}}/')
printf '{"schemaVersion":2,"manifests":[%s]}' "$man" >"$w/src/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$w/src/oci-layout"
openssl genrsa -out "$w/priv.pem" 2048 2>/dev/null
openssl rsa -in "$w/priv.pem" -pubout -out "$w/pub.pem" 2>/dev/null
s=$(now); skopeo copy -q --encryption-key "jwe:$w/pub.pem" "oci:$w/src:v1" "oci:$w/enc:v1"; e=$(now)
rate cli:skopeo-encrypt "$s" "$e" >>"$w/rates"
s=$(now); skopeo copy -q --decryption-key "$w/priv.pem" "oci:$w/enc:v1" "oci:$w/dec:v1"; e=$(now)
rate cli:skopeo-decrypt "$s" "$e" >>"$w/rates"
cmp -s "$w/layer.gz" "$w/dec/blobs/sha256/$gz" ||
	{ echo "bench-seal: skopeo round trip differs" >&2; exit 1; }

# Encryption is compared with raw sealing, decryption with raw opening (and,
# for the Go unsealers, with raw opening of chunks copied out of an
# io.Reader, which every streaming decryptor must do).
echo "== summary: MB/s, and the ratio to raw AES-256-GCM in Go (seal for encryption, open for decryption)"
# The single-stream Go unsealers are also compared by processor time (cpu:),
# from=memory with raw open, from=reader with read+open.
awk '{ r[$1] = $2; c[$1] = $3; order[NR] = $1 }
END {
	for (i = 1; i <= NR; i++) {
		n = order[i]
		dec = n ~ /(open|Unseal|decrypt)/
		base = dec ? "go:RawAESGCM/open" : "go:RawAESGCM/seal"
		line = sprintf("%-34s %10.1f MB/s  %6.2fx raw %s", n, r[n], r[n] / r[base], dec ? "open" : "seal")
		if (n ~ /^go:Unseal/)
			line = line sprintf("  %6.2fx read+open", r[n] / r["go:RawAESGCM/read+open"])
		if (c[n] > 0 && c[base] > 0)
			line = line sprintf("   cpu: %7.0f MB/cpu-s  %5.2fx raw %s", c[n], c[n] / c[base], dec ? "open" : "seal")
		if (n ~ /^go:Unseal\/from=reader/ && c["go:RawAESGCM/read+open"] > 0)
			line = line sprintf("  %5.2fx read+open", c[n] / c["go:RawAESGCM/read+open"])
		print line
	}
}' "$w/rates"
