#!/bin/sh
# softhsm-test.sh makes a throwaway SoftHSM2 token for the PKCS#11 tests and
# prints the environment that points them at it:
#
#	eval "$(scripts/softhsm-test.sh)"
#	CI=true go test -tags pkcs11 ./kms/...
#
# It installs Debian's softhsm2 when it is missing (as root, on a fresh
# machine), creates a temporary directory with its own softhsm2.conf and token
# directory, and initializes a token labelled imgward-test with a random user
# PIN and SO PIN. Only the export line goes to stdout; progress goes to stderr.
# The token is a test fixture: its PIN is printed for the tests to use.
set -eu

label=${IMGWARD_TEST_PKCS11_LABEL:-imgward-test}

log() { echo "softhsm-test: $*" >&2; }

if ! command -v softhsm2-util >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		log "softhsm2 is not installed; run: sudo apt-get install -y softhsm2"
		exit 1
	fi
	log "installing softhsm2"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq softhsm2 >&2
fi

module=
for m in /usr/lib/softhsm/libsofthsm2.so \
	/usr/lib/"$(uname -m)"-linux-gnu/softhsm/libsofthsm2.so \
	/usr/local/lib/softhsm/libsofthsm2.so; do
	if [ -f "$m" ]; then
		module=$m
		break
	fi
done
if [ -z "$module" ]; then
	log "libsofthsm2.so not found"
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/imgward-softhsm.XXXXXX")
mkdir -m 700 "$dir/tokens"
cat >"$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
sopin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
SOFTHSM2_CONF=$dir/softhsm2.conf softhsm2-util --init-token --free \
	--label "$label" --pin "$pin" --so-pin "$sopin" >&2
log "token $label in $dir (remove it with: rm -rf $dir)"

echo "export SOFTHSM2_CONF='$dir/softhsm2.conf' IMGWARD_TEST_PKCS11_MODULE='$module'" \
	"IMGWARD_TEST_PKCS11_TOKEN='$label' IMGWARD_TEST_PKCS11_PIN='$pin'"
