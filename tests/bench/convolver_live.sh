#!/bin/sh
# The convolver live: a 65,536-tap IR on both channels at 48 kHz / 64
# frames with zero added latency, on JACK's dummy backend, SECONDS_RUN (30
# unless told) each: tidepoold (a tone through the convolver; the levels
# of 256 frames and up on its worker threads) beside jconvolver
# (zita-convolver, partition 64, its inputs connected to the dummy
# capture ports), on the same server, one after another, ROUNDS times
# (2 unless told).  CPU seconds per audio second of the whole process
# (all threads), the callback's load and the late partitions.  The
# issue's target: tidepoold at most 0.8x jconvolver's CPU, no late
# partition in 60 s, load p99.9 under 15 %.
SECONDS_RUN=${SECONDS_RUN:-30}
ROUNDS=${ROUNDS:-2}
BIN=${BIN:-build/release}
T=$(mktemp -d /tmp/tidepool-bench.XXXXXX)
JACK_DEFAULT_SERVER=tidepool-bench-$$
export JACK_DEFAULT_SERVER
cleanup() {
	[ -n "${DPID:-}" ] && kill -KILL "$DPID" 2>/dev/null
	[ -n "${CPID:-}" ] && kill -KILL "$CPID" 2>/dev/null
	# TERM, not KILL: a killed jackd stays in JACK's server registry.
	[ -n "${JPID:-}" ] && { kill -TERM "$JPID" 2>/dev/null; wait "$JPID" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
command -v jconvolver >/dev/null ||
    { echo "convolver live bench: no jconvolver (make deps-bench)"; exit 0; }

/usr/bin/python3 -W ignore tests/integration/convref.py ir "$T/ir.wav" 48000 65536 1 3
JACK_NO_AUDIO_RESERVATION=1 jackd --no-realtime -d dummy -r 48000 -p 64 \
    >"$T/jack.log" 2>&1 &
JPID=$!
jack_wait -w -t 10 >/dev/null 2>&1 || { echo "jackd did not start"; exit 1; }

cpu_s() {	# cpu_s PID: user+system seconds so far, every thread
	awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"
}
cat >"$T/tp.conf" <<CONF
[engine]
rate = 48000
period = 64
channels = 2
input = tone:440
tone_level = -20

[control]
socket = $T/control.sock

[stage.room]
type = convolver
file = ir.wav
CONF
cat >"$T/jc.conf" <<CONF
/cd $T
/convolver/new 2 2 64 65536
/input/name 1 in-1 system:capture_1
/input/name 2 in-2 system:capture_2
/impulse/read 1 1 1 0 0 0 1 ir.wav
/impulse/read 2 2 1 0 0 0 1 ir.wav
CONF
ctl() { $BIN/tidepoolctl -s "$T/control.sock" "$@"; }
r=0
while [ $r -lt "$ROUNDS" ]; do
	$BIN/tidepoold -c "$T/tp.conf" >"$T/daemon.log" 2>&1 &
	DPID=$!
	i=0
	until ctl status >/dev/null 2>&1; do
		sleep 0.1; i=$((i + 1)); [ $i -gt 100 ] && break
	done
	sleep 1
	ctl stats reset >/dev/null
	c0=$(cpu_s $DPID)
	sleep "$SECONDS_RUN"
	c1=$(cpu_s $DPID)
	ctl --json stats >"$T/stats.json"
	kill -TERM $DPID; wait $DPID; DPID=
	/usr/bin/python3 - "$T/stats.json" "$c0" "$c1" "$SECONDS_RUN" <<'PY' >>"$T/rows"
import json, sys
s = json.load(open(sys.argv[1]))
cpu = (float(sys.argv[3]) - float(sys.argv[2])) / float(sys.argv[4])
print("| tidepoold | %.4f | %.2f | %.2f | %d | %d |" % (cpu,
    100 * s["load"]["p50"], 100 * s["load"]["p999"],
    s["xruns"]["late_partitions"], s["xruns"]["total"]))
PY
	jconvolver "$T/jc.conf" >"$T/jc.log" 2>&1 &
	CPID=$!
	sleep 1
	c0=$(cpu_s $CPID)
	sleep "$SECONDS_RUN"
	c1=$(cpu_s $CPID)
	kill -TERM $CPID; wait $CPID 2>/dev/null; CPID=
	late=$(grep -c "late" "$T/jc.log")
	awk -v a="$c0" -v b="$c1" -v s="$SECONDS_RUN" -v l="$late" 'BEGIN {
	    printf "| jconvolver | %.4f | n/a | n/a | %s (lines saying late) | n/a |\n", (b - a) / s, l }' >>"$T/rows"
	r=$((r + 1))
done
echo "### Convolver live, 65,536 taps on 2 channels, JACK dummy 48 kHz / 64 frames, zero added latency, $SECONDS_RUN s each, $ROUNDS rounds"
echo
echo "| client | CPU s per audio s | load p50 % | load p99.9 % | late partitions | xruns |"
echo "|---|---:|---:|---:|---:|---:|"
cat "$T/rows"
