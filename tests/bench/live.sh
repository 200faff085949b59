#!/bin/sh
# Live: SECONDS on JACK's dummy backend at 48 kHz / 64 frames with the
# default chain (config/tidepool.conf), beside a bare pass-through
# PortAudio client and ecasound as a JACK client with similar filters, all
# on the same server in the same run, one after another.
SECONDS_RUN=${SECONDS_RUN:-60}
BIN=${BIN:-build/release}
T=$(mktemp -d /tmp/tidepool-bench.XXXXXX)
JACK_DEFAULT_SERVER=tidepool-bench-$$
export JACK_DEFAULT_SERVER
cleanup() {
	[ -n "${DPID:-}" ] && kill -KILL "$DPID" 2>/dev/null
	# TERM, not KILL: a killed jackd stays in JACK's server registry.
	[ -n "${JPID:-}" ] && { kill -TERM "$JPID" 2>/dev/null; wait "$JPID" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT

JACK_NO_AUDIO_RESERVATION=1 jackd --no-realtime -d dummy -r 48000 -p 64 \
    >"$T/jack.log" 2>&1 &
JPID=$!
jack_wait -w -t 10 >/dev/null 2>&1 || { echo "jackd did not start"; exit 1; }

cpu_s() {	# cpu_s PID: user+system seconds so far
	awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"
}

# tidepoold with the shipped default chain, its socket moved into $T.
sed "s|^socket *=.*|socket = $T/control.sock|" config/tidepool.conf \
    >"$T/default.conf"
$BIN/tidepoold -c "$T/default.conf" >"$T/daemon.log" 2>&1 &
DPID=$!
i=0
until $BIN/tidepoolctl -s "$T/control.sock" status >/dev/null 2>&1; do
	sleep 0.1; i=$((i + 1)); [ $i -gt 100 ] && break
done
sleep 1
$BIN/tidepoolctl -s "$T/control.sock" stats reset >/dev/null
c0=$(cpu_s $DPID)
sleep "$SECONDS_RUN"
c1=$(cpu_s $DPID)
$BIN/tidepoolctl -s "$T/control.sock" --json stats >"$T/stats.json"
kill -TERM $DPID; wait $DPID; DPID=
tp=$(python3 - "$T/stats.json" "$c0" "$c1" "$SECONDS_RUN" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
cpu = (float(sys.argv[3]) - float(sys.argv[2])) / float(sys.argv[4])
print("| tidepoold, default chain (%d stages) | %.2f | %.2f | %.2f | %d | %.4f |" % (
    len(s["stages"]), 100 * s["load"]["p50"], 100 * s["load"]["p999"],
    100 * s["load"]["max"], s["xruns"]["total"], cpu))
PY
)

bare=$(build/release/bench/bench_bare_client "$SECONDS_RUN" 2>/dev/null |
    tail -n 1)
bare_row=$(echo "$bare" | tr ' ' '\n' | awk -F= '{ v[$1] = $2 } END {
    printf "| bare PortAudio pass-through | %.2f | %.2f | %.2f | %d | %.4f |",
    100 * v["load_p50"], 100 * v["load_p999"], 100 * v["load_max"],
    v["xruns"], v["cpu_per_audio_s"] }')

eca_row="| ecasound (JACK client, amplify+highpass+lowpass) | n/a | n/a | n/a | n/a | n/a |"
if command -v ecasound >/dev/null 2>&1; then
	ecasound -q -b:64 -f:f32_le,2,48000 -i jack -o jack \
	    -efh:20 -ea:70.79 -efl:16000 >"$T/eca.log" 2>&1 &
	EPID=$!
	sleep 1
	e0=$(cpu_s $EPID)
	sleep "$SECONDS_RUN"
	e1=$(cpu_s $EPID)
	kill -TERM $EPID; wait $EPID 2>/dev/null
	eca_row=$(awk -v a="$e0" -v b="$e1" -v s="$SECONDS_RUN" 'BEGIN {
	    printf "| ecasound (JACK client, highpass+amplify+lowpass) | n/a | n/a | n/a | n/a | %.4f |", (b - a) / s }')
fi

echo "### Live, JACK dummy 48 kHz / 64 frames, $SECONDS_RUN s each"
echo
echo "| client | load p50 % | load p99.9 % | load max % | xruns | CPU s per audio s |"
echo "|---|---:|---:|---:|---:|---:|"
echo "$tp"
echo "$bare_row"
echo "$eca_row"
