#!/bin/sh
# The control socket against people it should refuse and clients that
# misbehave, on a private JACK dummy server.  Who: root and the [control]
# group are served, anyone else gets "permission denied" (the socket is
# opened to all for the test, so it is the daemon's own check that is
# seen, not the file mode).  What: a line over 4096 bytes, half a line and
# then silence, a client that never reads its replies, binary garbage,
# 100 clients at once and more than the daemon takes: each gets an error
# or is disconnected, and meanwhile a well-behaved client is answered and
# the callback keeps its time.
. tests/integration/lib.sh

G=tptest$$
groupadd "$G" || { check 1 "groupadd $G"; finish; }
gid=$(getent group "$G" | cut -d: -f3)
trap 'groupdel "$G" 2>/dev/null; cleanup' EXIT

cat >"$T/a.conf" <<CONF
[engine]
input = tone:440
period = 64
[control]
socket = $T/control.sock
group = $G
idle_timeout = 2
[files]
recordings = $T
[stage.vol]
type = gain
CONF
start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts"
m=$(stat -c '%a %G' "$T/control.sock")
[ "$m" = "660 $G" ]
check $? "the socket is mode 660 in the [control] group: $m"
chmod 0711 "$T"
chmod 0666 "$T/control.sock"

as() {	# as UID GID COMMAND...: runs tidepoolctl as that user and group
	u=$1; g=$2; shift 2
	setpriv --reuid="$u" --regid="$g" --clear-groups \
	    "$BIN/tidepoolctl" -s "$T/control.sock" "$@"
}
out=$(as nobody nogroup status 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "permission denied"
check $? "a stranger's status is refused: $out"
out=$(as nobody nogroup set vol.gain -6 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "permission denied"
check $? "a stranger's set is refused"
expect "a stranger may still ask for help" as nobody nogroup help
expect "a member of the [control] group may read" as nobody "$gid" status
expect "so may a process with it among its supplementary groups" \
    setpriv --reuid=nobody --regid=nogroup --groups="$gid" \
    "$BIN/tidepoolctl" -s "$T/control.sock" status
expect "and change things" as nobody "$gid" set vol.gain -6
expect "the change took" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json get vol.gain | grep -q '\"value\":-6'"

late0=$(json_get "$(ctl --json stats)" xruns.late)
cb0=$(json_get "$(ctl --json status)" callbacks)
python3 - "$T/control.sock" >"$T/abuse.out" 2>&1 <<'PY'
import socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(5)
    return s
def ask(line):
    s = conn()
    s.sendall(line)
    r = s.makefile("rb").readline()
    s.close()
    return r
def result(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
def served(what):
    t = time.monotonic()
    r = ask(b"status\n")
    dt = time.monotonic() - t
    result(b'"ok":true' in r and dt < 2,
           "%s: a good client is still answered (%.0f ms)" % (what, dt * 1e3))

# Over 4096 bytes without a newline: an error, then the door.
s = conn(); s.sendall(b"s" * 5000)
r = s.recv(4096)
while not r.endswith(b"\n"):
    r += s.recv(4096)
rest = s.recv(4096)
result(b"longer than" in r and rest == b"", "an over-long line gets an error and a disconnect")

# Half a line, then silence: held, not blocking anyone, and dropped after
# [control] idle_timeout (2 s here); a client that has sent nothing is not.
quiet = conn()
half = conn(); half.sendall(b"sta")
t = time.monotonic()
served("half a line pending")
half.settimeout(30)
try:
    gone = half.recv(4096) == b""
except (socket.timeout, ConnectionResetError):
    gone = False
dt = time.monotonic() - t
result(gone and dt >= 1.9, "half a line left is dropped after idle_timeout "
       "(after %.1f s)" % dt)
half.close()
quiet.sendall(b"status\n")
result(b'"ok":true' in quiet.makefile("rb").readline(),
       "a client that sent nothing meanwhile is still served")

# Never reads: floods requests until the daemon drops it.
lazy = conn()
lazy.setblocking(False)
sent, dropped = 0, False
end = time.monotonic() + 20
while time.monotonic() < end and not dropped:
    try:
        sent += lazy.send(b"stats\n" * 64)
    except BlockingIOError:
        time.sleep(0.01)
    except (BrokenPipeError, ConnectionResetError):
        dropped = True
result(dropped, "a client that never reads is disconnected (after %d bytes of requests)" % sent)
served("after the reader-less client")

# Binary garbage.
r = ask(b"\x00\xff\xfe\x01\x7f garbage \xc3\x28\r\n")
result(b'"ok":false' in r, "binary garbage gets an error: %r" % r[:80])

# 100 clients at once, each with a request, all answered.
many = [conn() for _ in range(100)]
for c in many:
    c.sendall(b"status\n")
answered = sum(b'"ok":true' in c.makefile("rb").readline() for c in many)
result(answered == 100, "100 clients at once: %d answered" % answered)
served("with 100 clients connected")
# More than the daemon takes: the extra ones are told and closed.
extra = []
busy = 0
for _ in range(60):
    c = conn()
    try:
        c.sendall(b"status\n")
    except (BrokenPipeError, ConnectionResetError):
        pass    # told "busy" and closed before the request went out
    extra.append(c)
served_extra = 0
for c in extra:
    try:
        r = c.makefile("rb").readline()
    except ConnectionResetError:
        r = b""
    busy += b"busy" in r or b"too many" in r
    served_extra += b'"ok":true' in r
# The daemon takes 128 clients and holds 101 (the 100 and the quiet one):
# at most 27 more are served, and every other one is told.  A client the
# daemon has not yet seen leave may hold a slot a moment longer, which can
# only move one from served to busy.
result(busy + served_extra == 60 and served_extra <= 27 and busy >= 33,
       "beyond the limit of 128: of 60 more clients %d are served and %d "
       "told it is busy" % (served_extra, busy))
for c in many + extra:
    c.close()
quiet.close()
# The daemon sees them leave as it reads their hang-ups, maybe after it
# has taken a new client's connection (told "busy" while all 128 slots
# were still held): a good client is served again within seconds.
end = time.monotonic() + 10
while True:
    r = ask(b"status\n")
    if b'"ok":true' in r or time.monotonic() > end:
        break
    time.sleep(0.1)
result(b'"ok":true' in r, "after they all left, a good client is served "
       "again: %r" % r[:60])
PY
rc=$?
echo "# $(grep -c PASS "$T/abuse.out") passed in the client script"
while read -r verdict what; do
	case $verdict in
	PASS) check 0 "$what" ;;
	FAIL) check 1 "$what" ;;
	*) echo "# $verdict $what" ;;
	esac
done <"$T/abuse.out"
[ $rc -eq 0 ] && [ "$(grep -c '^PASS\|^FAIL' "$T/abuse.out")" -eq 11 ]
check $? "the client script ran to its end (exit $rc)"

# Requests sent in one go by a client that then shuts its side: every one
# is answered in order, "record stop" (which waits for the audio) too.
printf 'record %s\nrecord stop\nstatus\n' "$T/piped.wav" |
    timeout 10 socat -t 5 - "UNIX-CONNECT:$T/control.sock" >"$T/piped.out"
n=$(grep -c '"ok":true' "$T/piped.out")
[ "$n" -eq 3 ] && sed -n 2p "$T/piped.out" | grep -q '"recorded"' &&
    sed -n 3p "$T/piped.out" | grep -q '"state"'
check $? "pipelined record, record stop, status from a half-closed client: $n of 3 answered in order"

late1=$(json_get "$(ctl --json stats)" xruns.late)
cb1=$(json_get "$(ctl --json status)" callbacks)
echo "# callbacks $cb0 -> $cb1, late $late0 -> $late1"
[ "$cb1" -gt "$cb0" ] && [ $((late1 - late0)) -lt 50 ]
check $? "the audio kept going and on time meanwhile (late +$((late1 - late0)))"
stop_daemon
check $? "SIGTERM stops the daemon cleanly"
finish
