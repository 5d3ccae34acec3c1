# The init of introspect/vmi's test guest: a listener and a sleeper.
nc -ll -p 4444 -e /bin/cat &
sleep 100000 &
