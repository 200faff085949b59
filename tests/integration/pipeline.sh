#!/bin/sh
# Requests pipelined faster than the engine takes messages, on a private
# JACK dummy server.  The engine's message queue holds a few dozen
# messages and the callback empties it once a period; a client that sends
# more at once must not be told "busy": its lines wait, in order, for room
# (client_retry), and every one is answered and applied.  Only an engine
# that takes no messages at all (its server stopped) makes them wait
# CLIENT_BUSY_NS (2 s) and then answer "busy" at once, never 2 s each.
. tests/integration/lib.sh

cat >"$T/a.conf" <<CONF
[engine]
input = tone:440
period = 64
[control]
socket = $T/control.sock
[stage.vol]
type = gain
CONF
start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 20 state_is running
check $? "the stream runs"

# pipe.py MODE: its lines are "PASS what" or "FAIL what".
cat >"$T/pipe.py" <<'PY'
import socket, sys, threading, time
path, mode = sys.argv[1], sys.argv[2]

def result(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)

def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(20)
    return s

def pipeline(values):
    """Sends a set per value in one write; returns the replies, in order."""
    s = conn()
    s.sendall(b"".join(b"set vol.gain %g\n" % v for v in values))
    f = s.makefile("rb")
    replies = [f.readline() for _ in values]
    s.close()
    return replies

if mode == "burst":
    values = [-(i % 600) / 10 for i in range(1000)]
    t = time.monotonic()
    replies = pipeline(values)
    dt = time.monotonic() - t
    ok = sum(b'"ok":true' in r for r in replies)
    busy = sum(b"busy" in r for r in replies)
    result(ok == 1000, "1000 sets in one write: %d answered ok, %d busy "
           "(%.2f s)" % (ok, busy, dt))
    inorder = all(b'"value":%g' % v in r for v, r in zip(values, replies))
    result(inorder, "each answer is its own request's, in order")
elif mode == "clients":
    # Four clients, each keeping 100 sets in flight, for 3 s.
    counts = []
    def flood(k):
        n = ok = 0
        end = time.monotonic() + 3
        while time.monotonic() < end:
            replies = pipeline([-(k + i % 50) / 10 for i in range(100)])
            n += len(replies)
            ok += sum(b'"ok":true' in r for r in replies)
        counts.append((n, ok))
    ts = [threading.Thread(target=flood, args=(k,)) for k in range(4)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    n = sum(c[0] for c in counts)
    ok = sum(c[1] for c in counts)
    result(n > 0 and ok == n, "4 clients flooding sets: %d of %d answered ok"
           % (ok, n))
elif mode == "stalled":
    # The server is stopped: the queue fills and never drains.
    t = time.monotonic()
    replies = pipeline([-(i % 60) for i in range(300)])
    dt = time.monotonic() - t
    ok = sum(b'"ok":true' in r for r in replies)
    busy = sum(b"busy: the message queue is full" in r for r in replies)
    result(ok + busy == 300 and busy > 0 and ok > 0,
           "with no callback, 300 sets: %d ok (the queue's room), %d busy"
           % (ok, busy))
    # Each busy line waiting 2 s would take 10 minutes.
    result(dt < 30, "the busy ones are answered together after the wait "
           "(%.1f s for all)" % dt)
    s = conn()
    s.sendall(b"status\n")
    result(b'"ok":true' in s.makefile("rb").readline(),
           "status is still answered")
PY

# report FILE N: each PASS/FAIL line of pipe.py as a check, and whether
# all N of them came (a client that timed out prints a traceback instead).
report() {
	while read -r verdict what; do
		case $verdict in
		PASS) check 0 "$what" ;;
		FAIL) check 1 "$what" ;;
		*) echo "# $verdict $what" ;;
		esac
	done <"$1"
	[ "$(grep -cE '^(PASS|FAIL) ' "$1")" -eq "$2" ]
	check $? "the client script gave all $2 results"
}

python3 "$T/pipe.py" "$T/control.sock" burst >"$T/burst.out" 2>&1
report "$T/burst.out" 2
v=$(json_get "$(ctl --json get vol.gain)" value)
[ "$v" = "-39.9" ]
check $? "the last value of the burst is the one applied: $v"
python3 "$T/pipe.py" "$T/control.sock" clients >"$T/clients.out" 2>&1
report "$T/clients.out" 1
late=$(json_get "$(ctl --json stats)" xruns.late)
echo "# callbacks late during the floods: $late"

kill -STOP "$JACK_PID"
python3 "$T/pipe.py" "$T/control.sock" stalled >"$T/stalled.out" 2>&1
kill -CONT "$JACK_PID"
report "$T/stalled.out" 3
expect "the daemon is still there" kill -0 "$DAEMON_PID"
stop_daemon
check $? "tidepoold stops cleanly"
finish
