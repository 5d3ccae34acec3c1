#!/usr/bin/env bash
# keystone-test-server.sh starts and stops a throwaway OpenStack Keystone
# for the tests that drive imgward with real OpenStack clients
# (api/openstack_test.go): Debian's python3-keystone on 127.0.0.1 with
# SQLite and fernet tokens in a temporary directory (facts in
# docs/API.md, "Behind Keystone"). Never use it for anything else.
#
#   eval "$(scripts/keystone-test-server.sh start)"   # exports IMGWARD_TEST_KEYSTONE_*
#   go test ./api/ -run OpenStack
#   scripts/keystone-test-server.sh stop              # uses IMGWARD_TEST_KEYSTONE_DIR
#
# start installs the Debian packages when missing (as root: scripts/test-deps.sh),
# bootstraps Keystone, and creates:
#   - the bootstrap admin "admin" in project "admin";
#   - imgward's service user "imgward" with role "service" in project "service";
#   - ordinary users "alice" and "bob", role "member" in projects "alice" and "bob";
#   - the image service "glance" with a public endpoint at
#     http://127.0.0.1:$IMGWARD_TEST_KEYSTONE_IMAGE_PORT, a port left free for
#     the imgward the tests start.
# Every user's password is $IMGWARD_TEST_KEYSTONE_PASSWORD. Only the export
# lines go to stdout.
set -euo pipefail

log() { echo "keystone-test-server: $*" >&2; }
die() { log "error: $*"; exit 1; }

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, from $1.
free_port() {
	local port
	for port in $(seq "$1" $(($1 + 100))); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port from $1"
}

start() {
	local dir port image pw pid
	if ! command -v keystone-wsgi-public >/dev/null || ! command -v openstack >/dev/null; then
		"$(dirname "$0")/test-deps.sh" >&2 || die "python3-keystone and python3-openstackclient are needed"
	fi
	dir=$(mktemp -d /tmp/imgward-keystone.XXXXXX)
	chmod 700 "$dir"
	port=$(free_port 35357)
	image=$(free_port $((port + 1)))
	pw=test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	cat >"$dir/keystone.conf" <<CONF
[DEFAULT]
log_file = $dir/keystone.log
[database]
connection = sqlite:///$dir/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $dir/fernet-keys
[credential]
key_repository = $dir/credential-keys
CONF
	# keystone-manage prints harmless eventlet tracebacks at exit: judge
	# it by its exit code, keep its output in the log.
	local km=(keystone-manage --config-file "$dir/keystone.conf")
	{
		"${km[@]}" db_sync &&
			"${km[@]}" fernet_setup --keystone-user root --keystone-group root &&
			"${km[@]}" credential_setup --keystone-user root --keystone-group root &&
			"${km[@]}" bootstrap --bootstrap-password "$pw" \
				--bootstrap-admin-url "http://127.0.0.1:$port/v3/" \
				--bootstrap-public-url "http://127.0.0.1:$port/v3/" \
				--bootstrap-internal-url "http://127.0.0.1:$port/v3/" \
				--bootstrap-region-id RegionOne &&
			# Projects, users and roles are made offline by bootstrap too:
			# Keystone 22 on SQLite fails role creation over the API with
			# "database is locked". Each user also gets its role on the
			# system scope, which imgward never sees (it takes project-scoped
			# tokens only).
			"${km[@]}" bootstrap --bootstrap-username imgward --bootstrap-password "$pw" \
				--bootstrap-project-name service --bootstrap-role-name service &&
			"${km[@]}" bootstrap --bootstrap-username alice --bootstrap-password "$pw" \
				--bootstrap-project-name alice --bootstrap-role-name member &&
			"${km[@]}" bootstrap --bootstrap-username bob --bootstrap-password "$pw" \
				--bootstrap-project-name bob --bootstrap-role-name member
	} >>"$dir/manage.log" 2>&1 || { tail -n 20 "$dir/manage.log" >&2; die "keystone-manage failed"; }
	OS_KEYSTONE_CONFIG_FILES=$dir/keystone.conf setsid keystone-wsgi-public --host 127.0.0.1 --port "$port" \
		>>"$dir/server.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/pid"
	for _ in $(seq 1 120); do
		if curl -fsS "http://127.0.0.1:$port/v3" >/dev/null 2>&1; then
			break
		fi
		kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/server.log" >&2; die "keystone exited"; }
		sleep 0.5
	done
	curl -fsS "http://127.0.0.1:$port/v3" >/dev/null || die "keystone did not answer on port $port"

	export OS_AUTH_URL=http://127.0.0.1:$port/v3 OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin \
		OS_PASSWORD=$pw OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
	unset OS_TOKEN OS_URL OS_CLOUD
	{
		openstack service create --name glance image &&
			openstack endpoint create --region RegionOne image public "http://127.0.0.1:$image"
	} >>"$dir/setup.log" 2>&1 || { tail -n 20 "$dir/setup.log" "$dir/server.log" >&2; stop_dir "$dir"; die "setting up the catalog failed"; }
	log "Keystone on 127.0.0.1:$port, image endpoint 127.0.0.1:$image, in $dir"
	echo "export IMGWARD_TEST_KEYSTONE_URL='http://127.0.0.1:$port/v3'"
	echo "export IMGWARD_TEST_KEYSTONE_IMAGE_PORT='$image'"
	echo "export IMGWARD_TEST_KEYSTONE_PASSWORD='$pw'"
	echo "export IMGWARD_TEST_KEYSTONE_DIR='$dir'"
}

stop_dir() {
	local dir=$1 pid
	if [[ -f $dir/pid ]]; then
		pid=$(cat "$dir/pid")
		# setsid made the server the leader of its own process group.
		kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}

stop() {
	local dir=${IMGWARD_TEST_KEYSTONE_DIR:-}
	[[ -n $dir && -f $dir/keystone.conf ]] || die "IMGWARD_TEST_KEYSTONE_DIR does not name a Keystone started by this script"
	stop_dir "$dir"
	log "stopped and removed $dir"
}

case ${1:-} in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop" ;;
esac
