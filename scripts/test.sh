#!/bin/sh
# test.sh runs every test of imgward against the real components: it
# installs what is missing, builds a key-provider-capable skopeo and a
# SeaweedFS (once each), starts a throwaway PostgreSQL, S3 server and
# SoftHSM2 token, runs the pure-Go suite and the PKCS#11 suite, and
# cleans up. With CI=true, no test that needs a component may skip.
set -eu
cd "$(dirname "$0")/.."

scripts/test-deps.sh
# A skopeo whose ocicrypt has key providers, for TestSkopeoInterop (built
# once from Debian's skopeo source, then cached): Debian's own predates them.
IMGWARD_TEST_SKOPEO=$(scripts/skopeo-build.sh)
export IMGWARD_TEST_SKOPEO
pgenv=$(scripts/pg-test-server.sh start)
eval "$pgenv"
# A throwaway Keystone for the OpenStack client tests (api/openstack_test.go).
ksenv=$(scripts/keystone-test-server.sh start)
eval "$ksenv"
cleanup() {
	scripts/pg-test-server.sh stop || true
	scripts/keystone-test-server.sh stop || true
	[ -n "${S3TEST_DIR:-}" ] && { scripts/s3-test-server.sh stop || true; }
	[ -n "${hsmdir:-}" ] && rm -rf "$hsmdir"
}
trap cleanup EXIT INT TERM
# A real S3 server (SeaweedFS, built once and cached) for blob/s3 and the
# end-to-end tests of imgward on object storage.
s3env=$(scripts/s3-test-server.sh start)
eval "$s3env"
eval "$(scripts/softhsm-test.sh)"
hsmdir=$(dirname "$SOFTHSM2_CONF")
export CI="${CI:-true}"

go vet ./...
go test -count=1 -timeout 15m ./...
# The same scores, bit for bit, from a build that may fuse a multiply and
# an add (GOAMD64=v3, where the compiler emits FMA) and runs no vector kernel.
# Such a binary runs only on a processor with v3's features (Go's list).
v3=yes
for f in avx avx2 bmi1 bmi2 f16c fma abm movbe; do
	grep -qw "$f" /proc/cpuinfo || v3=no
done
if [ "$v3" = yes ]; then
	GOAMD64=v3 go test -count=1 ./detect/...
else
	echo "test.sh: this processor cannot run a GOAMD64=v3 build; the v3 check of ./detect/ did not run" >&2
fi
CGO_ENABLED=1 go vet -tags pkcs11 ./...
CGO_ENABLED=1 go test -count=1 -tags pkcs11 -timeout 5m ./kms/... ./server/...
