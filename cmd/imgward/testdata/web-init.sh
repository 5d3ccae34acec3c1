# A benign web image's init: a web server and a housekeeping loop, and a
# module loaded (when the test copied one in).
for m in /files/*.ko; do [ -f "$m" ] && insmod "$m"; done
mkdir -p /www && echo hello >/www/index.html
httpd -p 80 -h /www &
sh -c 'while :; do sleep 3600; done' &
# Until the children have exec'd: the guest is up when this returns.
sleep 1
