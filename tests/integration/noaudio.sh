#!/bin/sh
# tidepoold with no audio device at all (no JACK server by that name):
# it stays up and serves the socket, says so in status, and what needs no
# callback still works: a reload keeps retrying the configured device (a
# use-after-free once made the retries name garbage), and "record stop"
# answers at once with a valid file instead of waiting for a callback
# that will never come.
. tests/integration/lib.sh

JACK_DEFAULT_SERVER=tidepool-none-$$
export JACK_DEFAULT_SERVER
cat >"$T/a.conf" <<CONF
[engine]
device = nosuchcard
input = tone:440

[control]
socket = $T/control.sock

[files]
recordings = $T

[stage.vol]
type = gain
gain = -3
CONF
start_daemon "$T/a.conf"
check $? "tidepoold starts with no audio device and answers status"
wait_for 10 state_is disconnected
check $? "status says disconnected (within 10 s)"
expect "the log says which device it is looking for" \
    grep -q "nosuchcard" "$T/daemon.log"
# Backoff: 0.5 s, doubling up to 10 s.  The delays are the daemon's own
# words, so the check does not time anything.
wait_for 30 sh -c "[ \$(grep -c 'retrying in' '$T/daemon.log') -ge 4 ]"
delays=$(sed -n 's/.*retrying in \([0-9.]*\) s.*/\1/p' "$T/daemon.log" |
    head -n 4 | tr '\n' ' ')
[ "$delays" = "0.5 1.0 2.0 4.0 " ]
check $? "it retries with backoff, 0.5 s doubling ($delays)"

sed -i 's/gain = -3/gain = -6/' "$T/a.conf"
expect "reload while disconnected" ctl reload
n=$(grep -c "nosuchcard" "$T/daemon.log")
wait_for 10 sh -c "[ \$(grep -c nosuchcard '$T/daemon.log') -gt $n ]"
check $? "it retries after the reload"
tail -n 1 "$T/daemon.log" | sed 's/^/# /'
tail -n 1 "$T/daemon.log" | grep -q "nosuchcard"
check $? "and the retry still names the configured device"

expect "record starts while disconnected" ctl record "$T/rec.wav"
ctl -t 5 record stop >"$T/stop.out" 2>&1
check $? "record stop answers while disconnected ($(cat "$T/stop.out"))"
expect "the recording is a valid, empty file" sh -c \
    "[ \"\$(soxi -s '$T/rec.wav')\" = 0 ]"
stop_daemon
check $? "SIGTERM stops the daemon cleanly"
finish
