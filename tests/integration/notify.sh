#!/bin/sh
# sd_notify as systemd would see it: the daemon gets a NOTIFY_SOCKET of our
# own (a datagram socket this test reads) and a 1 s watchdog.  READY=1 once
# audio runs, STATUS= lines with the live summary, WATCHDOG=1 about every
# 0.5 s while the callback runs, none while the JACK server is stopped
# (SIGSTOP: the audio path stalls, so systemd would restart the service),
# pings again after SIGCONT, RELOADING=1 around a reload, STOPPING=1.
. tests/integration/lib.sh

N=$T/notify.log
python3 - "$T/notify.sock" "$N" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        log.write("%.3f %s\n" % (time.monotonic(), msg.replace("\n", "|")))
PY
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; cleanup' EXIT
wait_for 5 test -S "$T/notify.sock"

# pings SECONDS: WATCHDOG=1 messages that arrive within that long.
pings() {
	a=$(grep -c "WATCHDOG=1" "$N")
	sleep "$1"
	b=$(grep -c "WATCHDOG=1" "$N")
	echo $((b - a))
}

tone_config "$T/a.conf" "[stage.vol]
type = gain"
start_jack 64
check $? "a private JACK dummy server starts"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 start_daemon "$T/a.conf"
check $? "tidepoold starts with NOTIFY_SOCKET and WATCHDOG_USEC"
wait_for 10 grep -q "READY=1" "$N"
check $? "READY=1 arrives"
cbs=$(json_get "$(ctl --json status)" callbacks)
[ "$cbs" -gt 0 ]
check $? "once audio runs ($cbs callbacks by now)"
wait_for 5 grep -q "STATUS=running: 48000 Hz/64, load p99 .*xruns" "$N"
check $? "STATUS= carries rate/period, load p99 and xruns"
grep "STATUS=" "$N" | tail -n 1 | sed 's/^[0-9.]* /# /'

n=$(pings 3)
[ "$n" -ge 4 ] && [ "$n" -le 8 ]
check $? "WATCHDOG=1 at about half the 1 s watchdog ($n in 3 s)"

kill -STOP "$JACK_PID"
sleep 1
n=$(pings 3)
state=$(json_get "$(ctl --json status)" state)
[ "$n" -eq 0 ]
check $? "with the JACK server stopped, no WATCHDOG=1 ($n in 3 s)"
[ "$state" = disconnected ]
check $? "and the socket still answers: status says $state"
kill -CONT "$JACK_PID"
wait_for 30 sh -c "[ \$(grep -c WATCHDOG=1 '$N') -gt $(grep -c WATCHDOG=1 "$N") ]"
check $? "after SIGCONT the pings come back"
pf=$(json_get "$(ctl --json stats)" page_faults.callback_thread)
[ "$pf" -ge 0 ]
check $? "the new audio thread named itself again (its page faults: $pf)"
sed 's/^/# /' "$T/daemon.log" | grep -v "ALSA\|Jack\|jack\|Cannot" | tail -n 4

a=$(wc -l <"$N")
expect "reload" ctl reload
sleep 0.3
tail -n +$((a + 1)) "$N" | grep -q "RELOADING=1|MONOTONIC_USEC=[0-9]" &&
    tail -n +$((a + 1)) "$N" | grep -A100 "RELOADING=1" | grep -q "READY=1"
check $? "a reload sends RELOADING=1 with MONOTONIC_USEC, then READY=1"
stop_daemon
check $? "SIGTERM stops the daemon"
grep -q "STOPPING=1" "$N"
check $? "STOPPING=1 arrives"
finish
