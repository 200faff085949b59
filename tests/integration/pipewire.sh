#!/bin/sh
# tidepoold under PipeWire, the server most desktops run: a headless
# PipeWire of the test's own (private D-Bus session, XDG_RUNTIME_DIR,
# wireplumber, a null sink named tpsink), the daemon under pw-jack.
# - The graph's default quantum (1024) is not [engine] period (64): the
#   status, the log and STATUS= say so with the fix, and load is measured
#   against the real period; with PIPEWIRE_QUANTUM=64/48000 nothing is said.
# - The cycles PipeWire's profiler (what pw-top reads) sees tidepoold's
#   node fail to finish are the frames tidepoold counts as missed, one
#   quantum each, within a small tolerance.
# - The JACK client is named tidepoold.
. tests/integration/lib.sh

PW_PIDS=
pw_cleanup() {
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	for p in $PW_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	[ -n "${DBUS_PID:-}" ] && kill -TERM "$DBUS_PID" 2>/dev/null
	cleanup
}
trap pw_cleanup EXIT

export XDG_RUNTIME_DIR="$T/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset JACK_DEFAULT_SERVER PIPEWIRE_QUANTUM PIPEWIRE_LATENCY
dbus-daemon --session --fork --print-address=1 --print-pid=1 >"$T/dbus.out"
check $? "a private D-Bus session starts"
DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p "$T/dbus.out")
DBUS_PID=$(sed -n 2p "$T/dbus.out")
export DBUS_SESSION_BUS_ADDRESS
pipewire >"$T/pipewire.log" 2>&1 &
PW_PIDS="$!"
wait_for 10 pw-cli info 0
check $? "pipewire starts"
wireplumber >"$T/wireplumber.log" 2>&1 &
PW_PIDS="$PW_PIDS $!"
pw-cli create-node adapter '{ factory.name=support.null-audio-sink
    node.name=tpsink media.class=Audio/Sink object.linger=1
    audio.position=[FL FR] }' >"$T/sink.out" 2>&1
wait_for 10 sh -c "pw-jack jack_lsp | grep -qx 'tpsink:playback_FL'"
check $? "a null sink tpsink is there, seen through pw-jack"

tone_config "$T/a.conf" "[stage.vol]
type = gain"
status_of() {	# status_of KEY
	json_get "$(ctl --json status)" "$1"
}

# --- the graph's own quantum --------------------------------------------
pw-jack "$BIN/tidepoold" -c "$T/a.conf" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_for 10 sh -c "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q '\"state\":\"running\"'"
check $? "tidepoold runs under pw-jack"
wait_for 10 sh -c "pw-jack jack_lsp | grep -qx 'tidepoold:out_0'"
check $? "its JACK client is named tidepoold"
pw-jack jack_lsp -c | grep -A1 "^tidepoold" | sed 's/^/# /'
wait_for 10 sh -c "[ \"\$('$BIN/tidepoolctl' -s '$T/control.sock' --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"real_period\"])')\" != None ]"
check $? "the real period becomes known"
st=$(ctl --json status)
real=$(json_get "$st" real_period)
echo "# status: period $(json_get "$st" period), real_period $real"
[ "$real" -gt 64 ]
check $? "the real period is the graph's quantum, not 64 ($real)"
expect "status warns with the fix" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert "PIPEWIRE_QUANTUM=64/48000" in s["warning"], s
assert "pw-jack -p 64" in s["warning"], s
' "$st"
wait_for 5 grep -q "warning: the server runs $real-frame periods, not the configured 64" "$T/daemon.log"
check $? "the log warns, once"
[ "$(grep -c "warning: the server runs" "$T/daemon.log")" -eq 1 ]
check $? "only once"
stats=$(ctl --json stats)
echo "# load against $real frames: $(json_get "$stats" load), $(json_get "$stats" cycles_per_s) cycles/s"
expect "load is measured per cycle of the real period" python3 -c '
import json, sys
s = json.loads(sys.argv[1]); real = int(sys.argv[2])
assert s["real_period"] == real and s["cycles"] > 0, s
assert abs(s["cycles_per_s"] - 48000 / real) < 48000 / real * 0.3, s["cycles_per_s"]
assert s["load"]["count"] <= s["cycles"] + 1, s["load"]
' "$stats" "$real"

# --- errors: what PipeWire's profiler counts against what we count ------
# pw-top shows the same profiler data; 0.3.65's pw-top has no batch mode,
# pw-profiler writes it to a file: one row per profiler sample, the
# driver's 4 columns then 8 per follower (id, 5 timings, status, ...).
# A follower whose status is not 3 (finished) did not finish that cycle:
# pw-top adds those up as ERR.
(cd "$T" && exec stdbuf -oL -eL pw-profiler -o "$T/prof.log" \
    >"$T/prof.out" 2>&1) &
PROF_PID=$!
PW_PIDS="$PW_PIDS $PROF_PID"
wait_for 10 grep -q 'logging follower .*"tidepoold"' "$T/prof.out"
check $? "pw-profiler follows tidepoold's node"
node=$(sed -n 's/.*logging follower \([0-9]*\) ("tidepoold").*/\1/p' "$T/prof.out" | head -n 1)
m0=$(json_get "$(ctl --json stats)" xruns.missed_frames)
kill -STOP "$DAEMON_PID"
sleep 1
kill -CONT "$DAEMON_PID"
wait_for 10 sh -c "[ \$('$BIN/tidepoolctl' -s '$T/control.sock' --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"xruns\"][\"missed_frames\"])') -gt $((m0 + 24000)) ]"
check $? "tidepoold counts the stop as missed frames"
sleep 1
m1=$(json_get "$(ctl --json stats)" xruns.missed_frames)
kill -INT "$PROF_PID"
wait "$PROF_PID" 2>/dev/null
python3 - "$T/prof.log" "$node" "$((m1 - m0))" "$real" >"$T/compare.out" 2>&1 <<'PY'
import sys
log, node, missed, quantum = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = cycles = 0
for line in open(log):
    f = line.rstrip("\n").split("\t")
    for i in range(4, len(f) - 7, 8):
        if f[i].strip() == node and f[i + 6].strip() not in ("", "3"):
            rows += 1
            # 0.3.65 reports a stuck cycle twice, the second time with
            # the driver's interval 0: count cycles once.
            if f[0].strip() not in ("", "0"):
                cycles += 1
ours = missed / quantum
print("pw-profiler: %d rows (pw-top's ERR), %d cycles not finished; "
      "tidepoold: %d frames missed = %.1f quanta of %d" %
      (rows, cycles, missed, ours, quantum))
assert cycles > 0, "the profiler saw no error"
assert abs(ours - cycles) <= 2 + 0.1 * cycles, (ours, cycles)
PY
check $? "tidepoold's missed frames match the cycles PipeWire counts"
sed 's/^/# /' "$T/compare.out"
stop_daemon
check $? "SIGTERM stops it"

# --- a quantum that matches -------------------------------------------
PIPEWIRE_QUANTUM=64/48000 pw-jack "$BIN/tidepoold" -c "$T/a.conf" \
    >"$T/daemon64.log" 2>&1 &
DAEMON_PID=$!
wait_for 10 sh -c "[ \"\$('$BIN/tidepoolctl' -s '$T/control.sock' --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"real_period\"])')\" = 64 ]"
check $? "with PIPEWIRE_QUANTUM=64/48000 the real period is 64"
st=$(ctl --json status)
echo "# status: period $(json_get "$st" period), real_period $(json_get "$st" real_period)"
expect "status has no warning" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert "warning" not in s and s["real_period"] == 64, s
' "$st"
stop_daemon
check $? "SIGTERM stops it"
! grep -q "warning: the server runs" "$T/daemon64.log"
check $? "the log has no period warning"
finish
