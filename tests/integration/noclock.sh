#!/bin/sh
# A device nothing clocks: alsa-lib's null PCM, defined in an asoundrc of
# the test's own, takes frames as fast as the CPU gives them.  tidepoold
# says so (status, log, metrics), closes it rather than burn a core, and
# keeps serving the socket.
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
# Closed: no callback runs until the next try (10 s on).
c0=$(json_get "$(ctl --json status)" callbacks)
sleep 1
st=$(ctl --json status)
c1=$(json_get "$st" callbacks)
echo "# callbacks: $c0 then $c1 a second later, state $(json_get "$st" state)"
[ "$c0" = "$c1" ] && [ "$(json_get "$st" state)" = no_clock ]
check $? "the device is closed: no core burnt on it"
stop_daemon
check $? "SIGTERM stops it"
finish
