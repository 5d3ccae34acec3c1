#!/bin/sh
# testguest.sh boots and stops small Linux test guests for guest-memory
# introspection (introspect/vmi): Debian's kernel and a busybox initramfs
# under QEMU's TCG, with the guest's RAM shared as a file in /dev/shm and a
# QMP socket.
#
#	scripts/testguest.sh start NAME [--kaslr] [--init FILE] [--file PATH]... [--cpu MODEL] [--mem SIZE]
#	scripts/testguest.sh stop NAME
#
# start prints shell assignments that a caller can eval:
#
#	IMGWARD_GUEST_QMP=...     the QMP unix socket
#	IMGWARD_GUEST_MEM=...     the guest's RAM, /dev/shm/NAME
#	IMGWARD_GUEST_KERNEL=...  the guest's kernel (the vmlinuz; imgward vmi --kernel reads it)
#	IMGWARD_GUEST_SERIAL=...  the serial console's log
#
# The guest's /init mounts /proc and /sys, brings up the loopback
# interface, runs FILE with /bin/sh (FILE starts what must keep running in
# the background and returns), prints a marker on the console and idles;
# start returns once the marker is on the console. Each --file PATH is
# copied into the guest's /files/. Without --kaslr the guest boots the
# uncompressed vmlinux (PVH entry, nokaslr), which is quicker under TCG;
# with it the vmlinuz, at a randomised address. --cpu is QEMU's -cpu
# (default max, which has 5-level paging; max,la57=off has 4 levels). A
# loaded host slows TCG's timer enough to fail the kernel's boot-time check
# of it (no_timer_check skips that); a guest that panics anyway reboots
# (panic=-1) and tries again, until start gives up after 3 minutes.
#
# Missing Debian packages are installed (as root). The guests' files live
# in $IMGWARD_GUEST_DIR/NAME (default /tmp/imgward-guests/NAME). With
# IMGWARD_GUEST_OWNER=PID the guest is stopped when process PID ends.
set -eu

dir=${IMGWARD_GUEST_DIR:-/tmp/imgward-guests}
marker=IMGWARD-GUEST-READY

die() {
	echo "testguest: $*" >&2
	exit 1
}

usage() {
	echo "usage: testguest.sh start NAME [--kaslr] [--init FILE] [--file PATH]... [--cpu MODEL] [--mem SIZE] | stop NAME" >&2
	exit 2
}

# deps installs what a guest needs and is missing.
deps() {
	need=""
	[ -x /usr/bin/qemu-system-x86_64 ] || need="$need qemu-system-x86"
	[ -x /bin/busybox ] && /bin/busybox --list | grep -qx nc || need="$need busybox-static"
	ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || need="$need linux-image-amd64"
	[ -x /usr/bin/cpio ] || need="$need cpio"
	[ -x /usr/bin/xz ] || need="$need xz-utils"
	[ -z "$need" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages:$need; run as root: apt-get install -y --no-install-recommends$need"
	echo "testguest: installing$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >&2
}

# kernel prints the newest Debian kernel's vmlinuz.
kernel() {
	ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1
}

# vmlinux extracts the uncompressed kernel from the vmlinuz $1 (its
# payload is an xz stream) into the guests' directory, once, and prints its
# path.
vmlinux() {
	out="$dir/$(basename "$1" | sed 's/^vmlinuz/vmlinux/')"
	if [ ! -s "$out" ] || [ "$out" -ot "$1" ]; then
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -n 1 | cut -d: -f1)
		[ -n "$off" ] || die "$1 holds no xz stream"
		# xz stops with an error at the bytes after the stream; the
		# ELF magic checks what it wrote.
		# Guests start at once: each extracts to a file of its own, and
		# the rename is atomic.
		tmp="$out.$$"
		tail -c +"$((off + 1))" "$1" | xz -dcq >"$tmp" 2>/dev/null || true
		[ "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ] || { rm -f "$tmp"; die "$1: the xz stream holds no ELF kernel"; }
		mv "$tmp" "$out"
	fi
	echo "$out"
}

# initramfs builds the guest's initramfs from busybox, the init file $1
# and the files to copy, and writes it to $2.
initramfs() {
	root="$g/root"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/files"
	cp /bin/busybox "$root/bin/busybox"
	for cmd in $(/bin/busybox --list); do
		[ "$cmd" = busybox ] || ln -s busybox "$root/bin/$cmd"
	done
	if [ -n "$1" ]; then
		cp "$1" "$root/payload"
	else
		: >"$root/payload"
	fi
	for f in $files; do
		cp "$f" "$root/files/"
	done
	cat >"$root/init" <<-EOF
		#!/bin/sh
		export PATH=/bin
		mount -t proc proc /proc
		mount -t sysfs sysfs /sys
		mount -t devtmpfs dev /dev 2>/dev/null
		ip link set lo up
		/bin/sh /payload
		echo $marker
		while :; do sleep 3600; done
	EOF
	chmod 755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
	rm -rf "$root"
}

start() {
	name=$1
	shift
	kaslr=no init="" files="" cpu=max mem=256M
	while [ $# -gt 0 ]; do
		case $1 in
		--kaslr) kaslr=yes ;;
		--init) [ $# -ge 2 ] || usage; init=$2; shift ;;
		--file) [ $# -ge 2 ] || usage; files="$files $2"; shift ;;
		--cpu) [ $# -ge 2 ] || usage; cpu=$2; shift ;;
		--mem) [ $# -ge 2 ] || usage; mem=$2; shift ;;
		*) usage ;;
		esac
		shift
	done
	[ -z "$init" ] || [ -r "$init" ] || die "--init $init: no such file"
	for f in $files; do
		[ -r "$f" ] || die "--file $f: no such file"
	done
	deps
	mkdir -p "$dir"
	g="$dir/$name"
	[ ! -e "$g/pid" ] || ! kill -0 "$(cat "$g/pid")" 2>/dev/null || die "guest $name is running; stop it first"
	rm -rf "$g"
	mkdir -p "$g"
	vmlinuz=$(kernel)
	initramfs "$init" "$g/initrd.gz"
	shm=/dev/shm/imgward-$name
	if [ $kaslr = yes ]; then
		boot=$vmlinuz
		cmdline="console=ttyS0 quiet no_timer_check panic=-1"
	else
		boot=$(vmlinux "$vmlinuz")
		cmdline="console=ttyS0 quiet no_timer_check panic=-1 nokaslr"
	fi
	: >"$g/serial.log"
	qemu-system-x86_64 -nodefaults -display none \
		-accel tcg,thread=multi -cpu "$cpu" -smp 1 \
		-object memory-backend-file,id=mem,size="$mem",mem-path="$shm",share=on \
		-machine q35,memory-backend=mem -m "$mem" \
		-kernel "$boot" -initrd "$g/initrd.gz" -append "$cmdline" \
		-serial file:"$g/serial.log" \
		-qmp unix:"$g/qmp.sock",server=on,wait=off \
		-pidfile "$g/pid" -daemonize
	i=0
	while ! grep -q "^$marker" "$g/serial.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 1800 ] || ! kill -0 "$(cat "$g/pid" 2>/dev/null || echo 0)" 2>/dev/null; then
			tail -n 20 "$g/serial.log" >&2
			stop "$name"
			die "guest $name did not come up"
		fi
		sleep 0.1
	done
	# A guest of a process that dies without stopping it (a test binary
	# killed at its timeout) is stopped by a watchdog.
	if [ -n "${IMGWARD_GUEST_OWNER:-}" ]; then
		self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
		nohup sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; "$2" stop "$3"' \
			watchdog "$IMGWARD_GUEST_OWNER" "$self" "$name" </dev/null >/dev/null 2>&1 &
	fi
	echo "IMGWARD_GUEST_QMP=$g/qmp.sock IMGWARD_GUEST_MEM=$shm IMGWARD_GUEST_KERNEL=$vmlinuz IMGWARD_GUEST_SERIAL=$g/serial.log"
}

stop() {
	g="$dir/$1"
	if [ -s "$g/pid" ]; then
		pid=$(cat "$g/pid")
		if kill "$pid" 2>/dev/null; then
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "/dev/shm/imgward-$1"
	rm -rf "$g"
}

[ $# -ge 2 ] || usage
case $2 in
*[!A-Za-z0-9_-]* | -*) die "NAME: want letters, digits, - and _" ;;
esac
case $1 in
start) shift; start "$@" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
*) usage ;;
esac
