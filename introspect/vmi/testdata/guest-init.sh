# The init of introspect/vmi's test guests: a listener and a sleeper.
nc -ll -p 4444 -e /bin/cat &
sleep 100000 &
# Until the children have exec'd: the guest is up when this returns.
sleep 1
