#!/bin/sh
# sd_notify as systemd would see it: the daemon gets a NOTIFY_SOCKET of our
# own (a datagram socket this test reads) and a 1 s watchdog.  No READY=1
# while there is no audio (the daemon starts before the JACK server does),
# READY=1 once audio runs, STATUS= lines with the live summary, WATCHDOG=1
# about every 0.5 s while the callback runs, none while the JACK server is
# stopped (SIGSTOP: the audio path stalls, so systemd would restart the
# service), pings again after SIGCONT, none while the server skips most
# of the audio (the daemon stopped 0.9 s of every second: callbacks come,
# frames do not), RELOADING=1 then READY=1 around a
# reload, STOPPING=1.
#
# What the daemon sent before a given moment is known for sure by sending
# a marker datagram of our own at that moment and waiting for it in the
# log: the socket keeps the order.
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

# mark NAME: sends MARK=NAME to the notify socket and waits until the
# listener has logged it, so everything sent before is in the log.
mark() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(("MARK=" + sys.argv[2]).encode(), sys.argv[1])' "$T/notify.sock" "$1"
	wait_for 10 grep -q "MARK=$1\$" "$N"
}

# between A B WHAT: how many WHAT messages came between marks A and B.
between() {
	sed -n "/MARK=$1\$/,/MARK=$2\$/p" "$N" | grep -c "$3"
}

tone_config "$T/a.conf" "[stage.vol]
type = gain"
# The daemon first, with no JACK server of that name yet.
JACK_DEFAULT_SERVER=tidepool-$$-$(date +%s%N)
export JACK_DEFAULT_SERVER
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 start_daemon "$T/a.conf"
check $? "tidepoold starts with NOTIFY_SOCKET and WATCHDOG_USEC, no server yet"
wait_for 10 state_is disconnected
check $? "with no server it says disconnected"
mark nosrv
! grep -q "READY=1" "$N"
check $? "and has not sent READY=1"
launch_jack 64
check $? "then the JACK dummy server starts"
wait_for 30 grep -q "READY=1" "$N"
check $? "READY=1 arrives once the daemon has found it"
mark ready
cbs=$(callbacks)
[ "$cbs" -gt 0 ]
check $? "and the callbacks run ($cbs by now)"
wait_for 5 grep -q "STATUS=running: 48000 Hz/64, load p99 .*xruns" "$N"
check $? "STATUS= carries rate/period, load p99 and xruns"
grep "STATUS=" "$N" | tail -n 1 | sed 's/^[0-9.]* /# /'

# The pings' spacing from the listener's own clock: the median of 6
# intervals, so that one ping delayed by a busy machine does not count.
wait_for 20 sh -c "[ \$(sed -n '/MARK=ready\$/,\$p' '$N' | grep -c WATCHDOG=1) -ge 7 ]"
check $? "WATCHDOG=1 keeps coming while audio runs"
gap=$(sed -n '/MARK=ready$/,$p' "$N" | grep "WATCHDOG=1" | head -n 7 |
    awk 'NR > 1 { print $1 - t } { t = $1 }' | sort -n | sed -n 4p)
awk -v g="$gap" 'BEGIN { exit !(g > 0.3 && g < 0.7) }'
check $? "at about half the 1 s watchdog (median gap $gap s)"

kill -STOP "$JACK_PID"
wait_for 10 state_is disconnected
check $? "with the JACK server stopped, the socket still answers: disconnected"
mark stopped
sleep 2
mark stopped2
n=$(between stopped stopped2 WATCHDOG=1)
[ "$n" -eq 0 ]
check $? "and no WATCHDOG=1 comes while it is ($n in 2 s)"
kill -CONT "$JACK_PID"
mark cont
wait_for 30 sh -c "sed -n '/MARK=cont\$/,\$p' '$N' | grep -q WATCHDOG=1"
check $? "after SIGCONT the pings come back"
pf=$(json_get "$(ctl --json stats)" page_faults.callback_thread)
[ "$pf" -ge 0 ]
check $? "the new audio thread named itself again (its page faults: $pf)"
sed 's/^/# /' "$T/daemon.log" | grep -v "ALSA\|Jack\|jack\|Cannot" | tail -n 4

# Callbacks that come while the server skips most of the audio: the daemon
# stopped 0.9 s of every second.  Every check (each 0.5 s of the daemon's
# running time) sees about a tenth of a second's frames, so none may ping;
# the marks are sent while the daemon is stopped, so what it sent before
# is already in the socket.
wait_for 30 sh -c "[ \$(sed -n '/MARK=cont\$/,\$p' '$N' | grep -c WATCHDOG=1) -ge 3 ]"
check $? "pinging steadily again before the next part"
python3 - "$DAEMON_PID" "$T/notify.sock" <<'PY'
import os, signal, socket, sys, time
pid, sock = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(9):
    os.kill(pid, signal.SIGSTOP)
    if i == 2:
        s.sendto(b"MARK=skipping", sock)
    time.sleep(0.9)
    os.kill(pid, signal.SIGCONT)
    time.sleep(0.1)
os.kill(pid, signal.SIGSTOP)
s.sendto(b"MARK=skipped", sock)
os.kill(pid, signal.SIGCONT)
PY
wait_for 10 grep -q "MARK=skipped\$" "$N"
n=$(between skipping skipped WATCHDOG=1)
[ "$n" -eq 0 ]
check $? "no WATCHDOG=1 while the server skips 90 % of the audio ($n in 7 s)"
grep "WATCHDOG=1 withheld: [0-9]* of [0-9]* frames delivered" "$T/daemon.log" | sed 's/^/# /'
grep -q "WATCHDOG=1 withheld: [0-9]* of [0-9]* frames delivered" "$T/daemon.log"
check $? "the log says why, with the frames delivered"
wait_for 30 grep -q "WATCHDOG=1 sent again" "$T/daemon.log"
check $? "once the audio flows, the log says WATCHDOG=1 is sent again"
wait_for 30 sh -c "sed -n '/MARK=skipped\$/,\$p' '$N' | grep -q WATCHDOG=1"
check $? "and the pings come back"

mark reload
expect "reload" ctl reload
wait_for 10 sh -c "sed -n '/MARK=reload\$/,\$p' '$N' | grep -A100 'RELOADING=1|MONOTONIC_USEC=[0-9]' | grep -q READY=1"
check $? "a reload sends RELOADING=1 with MONOTONIC_USEC, then READY=1"
stop_daemon
check $? "SIGTERM stops the daemon"
mark end
grep -q "STOPPING=1" "$N"
check $? "STOPPING=1 arrives"
finish
