#!/usr/bin/env bash
# s3-test-server.sh starts and stops a throwaway S3 server for the tests of
# blob/s3: SeaweedFS (built once by scripts/seaweedfs-build.sh) in a
# temporary directory, listening on 127.0.0.1 only, with one identity whose
# random keys it prints, so that the tests exercise real request signing.
# Never use it for data.
#
#   eval "$(scripts/s3-test-server.sh start)"
#       # exports IMGWARD_TEST_S3_URL (the endpoint, http://127.0.0.1:PORT),
#       # IMGWARD_TEST_S3_BUCKET (an empty bucket, for nodes that share one:
#       # imgward serve --blob "s3://$IMGWARD_TEST_S3_BUCKET?endpoint=$IMGWARD_TEST_S3_URL"),
#       # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3TEST_DIR
#   go test ./blob/s3/...
#   scripts/s3-test-server.sh stop              # uses S3TEST_DIR
#
# start returns once signed requests have created the bucket, stored an
# object in it and deleted the object (about 15 s; longer on a busy
# machine). The tests make buckets of their own (blob/s3/s3test). Only the export lines go to stdout.
set -euo pipefail

log() { echo "s3-test-server: $*" >&2; }
die() { log "error: $*"; exit 1; }

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, nor on
# the port 10000 above it, which SeaweedFS takes for the gRPC of a service.
free_port() {
	local port
	for port in $(shuf -i 30000-50000 -n 200); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
			! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null &&
			! grep -qx "$port" "$dir/ports" 2>/dev/null; then
			echo "$port" >>"$dir/ports"
			echo "$port"
			return 0
		fi
	done
	die "no free port in 30000-50000"
}

start() {
	local weed ak sk p1 p2 p3 p4 i
	command -v curl >/dev/null || die "curl is missing (scripts/test-deps.sh installs it)"
	weed=$(scripts/seaweedfs-build.sh) || die "no weed binary"
	dir=$(mktemp -d /tmp/imgward-s3test.XXXXXX)
	chmod 700 "$dir"
	mkdir "$dir/data"
	p1=$(free_port) p2=$(free_port) p3=$(free_port) p4=$(free_port)
	ak=test$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	sk=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
	# One identity with every right: requests signed with other keys, or
	# not signed, are refused.
	cat >"$dir/s3.json" <<JSON
{"identities": [{"name": "imgward-test",
  "credentials": [{"accessKey": "$ak", "secretKey": "$sk"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
	# setsid: the server outlives this script, and stop ends its group.
	setsid "$weed" server -dir "$dir/data" -ip 127.0.0.1 -ip.bind 127.0.0.1 \
		-master.port "$p1" -volume.port "$p2" -filer -filer.port "$p3" \
		-s3 -s3.port "$p4" -s3.config "$dir/s3.json" \
		-master.volumeSizeLimitMB 256 -volume.max 0 \
		</dev/null >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
	local url="http://127.0.0.1:$p4" code
	# s3 signs a request as the tests' client does. curl sends no
	# x-amz-content-sha256 of its own, which S3 requires.
	s3() {
		curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" \
			-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" || true
	}
	for i in $(seq 1 120); do
		# Ready when a signed request creates a bucket (or finds it made by
		# an earlier try) and stores an object in it.
		code=$(s3 -X PUT "$url/imgward")
		if [[ $code == 200 || $code == 409 ]] && [[ $(s3 -X PUT --data-binary ok "$url/imgward/ready-check") == 200 ]] &&
			[[ $(s3 -X DELETE "$url/imgward/ready-check") == 204 ]]; then
			log "SeaweedFS S3 on $url, data in $dir (ready after ${SECONDS}s)"
			echo "export IMGWARD_TEST_S3_URL='$url'"
			echo "export IMGWARD_TEST_S3_BUCKET=imgward"
			echo "export AWS_ACCESS_KEY_ID='$ak'"
			echo "export AWS_SECRET_ACCESS_KEY='$sk'"
			echo "export S3TEST_DIR='$dir'"
			return 0
		fi
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || { tail -n 30 "$dir/log" >&2; die "weed exited"; }
		sleep 1
	done
	tail -n 30 "$dir/log" >&2
	S3TEST_DIR=$dir stop
	die "S3 did not answer within 120 s"
}

stop() {
	local dir=${S3TEST_DIR:-} pid i
	[[ -n $dir && -f $dir/pid && -f $dir/s3.json ]] || die "S3TEST_DIR does not name a server started by this script"
	pid=$(cat "$dir/pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
	log "stopped and removed $dir"
}

case ${1:-} in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop" ;;
esac
