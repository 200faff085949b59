#!/bin/sh
# A device nothing clocks: alsa-lib's null PCM, defined in an asoundrc of
# the test's own, takes frames as fast as the CPU gives them.  tidepoold
# says so (status, log, metrics), stops it at once (before a close that
# takes its time: TEST ONLY TIDEPOOL_TEST_CLOSE_DELAY_MS holds it 3 s)
# rather than burn a core, and keeps serving the socket.
. tests/integration/lib.sh

export HOME="$T"
printf 'pcm.tpnull {\n\ttype null\n}\n' >"$T/.asoundrc"
cat >"$T/n.conf" <<CONF
[engine]
rate = 48000
period = 64
channels = 2
device = tpnull
input = tone:440

[control]
socket = $T/control.sock
CONF

export TIDEPOOL_TEST_CLOSE_DELAY_MS=3000
start_daemon "$T/n.conf"
check $? "tidepoold starts on the null PCM"
wait_for 20 sh -c "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q '\"state\":\"no_clock\"'"
check $? "status says no_clock"
grep "tidepoold: audio:" "$T/daemon.log" | sed 's/^/# /'
grep -q "tidepoold: audio: tpnull runs [0-9]* times faster than 48000 Hz: nothing clocks it" "$T/daemon.log"
check $? "the log says nothing clocks the device"
ctl metrics >"$T/metrics.txt"
grep -qx "tidepool_no_clock 1" "$T/metrics.txt" &&
    grep -qx "tidepool_up 0" "$T/metrics.txt"
check $? "metrics: tidepool_no_clock 1, tidepool_up 0"
# Stopped: no callback runs until the next try (10 s on).  The stream
# is told to stop at its next callback, long before the held close ends;
# status may say no_clock a moment before, so wait for the count to stand
# still (2 s: without the stop it would run on for the close's 3), then
# watch a whole second.
still() {
	s0=$(callbacks)
	sleep 0.3
	[ "$s0" = "$(callbacks)" ]
}
wait_for 2 still
check $? "the callbacks stop"
c0=$(callbacks)
sleep 1
st=$(ctl --json status)
c1=$(json_get "$st" callbacks)
echo "# callbacks: $c0 then $c1 a second later, state $(json_get "$st" state)"
[ "$c0" = "$c1" ] && [ "$(json_get "$st" state)" = no_clock ]
check $? "the device is stopped: no core burnt on it"
stop_daemon
check $? "SIGTERM stops it"
finish
