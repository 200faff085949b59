#!/bin/sh
# What tidepoold does when the audio path cannot keep up, on a private JACK
# dummy server (48 kHz, 64 frames):
#
#   overload    a burn stage set to take 1.5 periods makes every callback
#               late; the daemon counts them and the episodes (cause
#               "late"), keeps answering the socket, and recovers when the
#               burn is lowered by set and again when a reload drops it.
#   starvation  a file whose decoding stalls for 700 ms (the test hook
#               TIDEPOOL_TEST_STALL_DECODE) runs the feed ring dry: the
#               callback plays silence for the gap, counts source_starved,
#               and the file resumes when data flows again.
#
# Lateness is measured as a share of the callbacks in a window, both counts
# the daemon's own (so a slow machine shrinks the window, not the share),
# and a change is waited for with a deadline, never assumed after a sleep.
. tests/integration/lib.sh

write_config() {	# write_config FILE BURN-STAGE-TEXT
	tone_config "$1" "[stage.vol]
type = gain
gain = 0
$2
[stage.meter]
type = meter"
}

# stat KEY.PATH: one value from a fresh "stats".
stat() {
	json_get "$(ctl --json stats)" "$1"
}

# late_share: the percentage of callbacks that were late over the next
# 200 or more, from the daemon's own counters.
late_share() {
	s0=$(ctl --json stats) || return 1
	wait_for 60 callbacks_above $(($(json_get "$s0" callbacks) + 200)) ||
	    return 1
	s1=$(ctl --json stats) || return 1
	python3 -c 'import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
n = b["callbacks"] - a["callbacks"]
print(round(100 * (b["xruns"]["late"] - a["xruns"]["late"]) / n))' "$s0" "$s1"
}

# late_share_is OP PERCENT: late_share compared, for wait_for.
late_share_is() {
	p=$(late_share) && [ "$p" "$1" "$2" ]
}

start_jack 64
check $? "a private JACK dummy server starts"
write_config "$T/a.conf" "[stage.slow]
type = burn
load = 0
"
TIDEPOOL_TEST_STALL_DECODE=96000:700 start_daemon "$T/a.conf"
check $? "tidepoold starts with a burn stage at load 0"
wait_for 10 callbacks_above 500
check $? "the callback runs"

quiet=$(late_share)
echo "# late callbacks at load 0: $quiet %"

# ---- overload -----------------------------------------------------------
expect "set slow.load 1.5 (each callback takes 1.5 periods)" \
    ctl set slow.load 1.5
# Each callback takes 1.5 periods: every one is late.
wait_for 20 late_share_is -ge 90
check $? "overloaded, at least 90 % of the callbacks are counted late ($(late_share) %, $quiet % quiet)"
stats=$(ctl --json stats)
expect "the episodes name the cause 'late' and a load above 1" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
late = [e for e in s["episodes"] if "late" in e["causes"]]
assert late, s["episodes"]
assert max(e["load_max"] for e in late) > 1.0, late
assert s["load"]["p99"] > 1.0, s["load"]
' "$stats"
echo "# load p99 while overloaded: $(json_get "$stats" load.p99)"
expect "the socket still answers while the audio is overloaded" ctl status
expect "and takes a parameter change" ctl set vol.gain -1

# Back on time: under 25 % late (a loaded machine makes some callbacks
# late by itself; none of them is a burn's 1.5 periods).
expect "set slow.load 0 removes the burn" ctl set slow.load 0
wait_for 20 late_share_is -lt 25
check $? "after set, the callbacks are on time again ($(late_share) % late)"

expect "overload again" ctl set slow.load 1.5
wait_for 20 late_share_is -ge 90
check $? "overloaded again"
write_config "$T/a.conf" ""
expect "a reload without the burn stage is taken while overloaded" ctl reload
wait_for 20 late_share_is -lt 25
check $? "after the reload, the callbacks are on time again ($(late_share) % late)"
ctl --json chain >"$T/chain.json"
check $? "chain answers"
! grep -q '"slow"' "$T/chain.json" && grep -q '"vol"' "$T/chain.json"
check $? "the chain no longer has the burn stage"

# ---- starvation ---------------------------------------------------------
# First without the stall (the file is shorter than where it would start):
# switching from the tone to a file and back must not starve a callback.
sox -R -n -r 48000 -c 2 "$T/short.wav" synth 1 sine 1000 gain -6 2>/dev/null
expect "stats reset" ctl stats reset
expect "play --once a 1 s file" ctl play --once "$T/short.wav"
wait_for 10 sh -c "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q '\"source\":\"tone'"
check $? "it plays to its end and the tone comes back"
n=$(stat xruns.source_starved)
[ "$n" -eq 0 ]
check $? "switching to the file and back starved no callback ($n)"

# 4 s of tone at 1 kHz; decoding stalls 700 ms once 2 s have been fed.
sox -R -n -r 48000 -c 2 "$T/tone.wav" synth 4 sine 1000 gain -6 2>/dev/null
expect "stats reset" ctl stats reset
expect "record starts" ctl record "$T/rec.wav"
expect "play --once a file whose decoding will stall" \
    ctl play --once "$T/tone.wav"
# Watch the episodes while it plays, on one connection and without pause:
# on a busy machine the dummy server's own xruns can push an episode out
# of the ring of the last 16 within some 40 ms (two callbacks each).
python3 - "$T/control.sock" >"$T/episodes.out" 2>&1 <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
longest, end = 0, time.monotonic() + 30
while time.monotonic() < end:
    s.sendall(b"stats\nstatus\n")
    stats, status = json.loads(f.readline()), json.loads(f.readline())
    for e in stats["episodes"]:
        if "source_starved" in e["causes"]:
            longest = max(longest, e["callbacks"])
    if status["source"].startswith("tone"):
        print("longest source_starved episode: %d callbacks" % longest)
        sys.exit(0)
sys.exit("the file did not end")
PY
check $? "the file plays to its end, and the configured tone comes back"
sleep 0.3
expect "record stop" ctl record stop
stats=$(ctl --json stats)
starved=$(json_get "$stats" xruns.source_starved)
frames=$(json_get "$stats" xruns.starved_frames)
echo "# source_starved callbacks: $starved, starved frames: $frames ($(awk -v f="$frames" 'BEGIN { printf "%.0f", f / 48 }') ms)"
# How much audio the 700 ms stall costs depends on how fast the machine
# runs the dummy server; the counts and the recording must agree.
[ "$starved" -gt 0 ] && [ "$frames" -gt 0 ]
check $? "the stall is counted as source_starved ($starved callbacks)"
n=$(sed -n 's/^longest source_starved episode: \([0-9]*\).*/\1/p' "$T/episodes.out")
[ "${n:-0}" -ge "$starved" ]
check $? "one episode names the cause source_starved and holds every starved callback (${n:-none} >= $starved)"

# In the recording: the tone, the file, one run of silence (exact zeros)
# where the decoding stalled, the rest of the file, the tone again.
python3 - "$T/rec.wav" >"$T/gap.out" 2>&1 <<'PY'
import struct, subprocess, sys
raw = subprocess.run(["sox", sys.argv[1], "-t", "f32", "-"],
    capture_output=True, check=True).stdout
x = struct.unpack("<%df" % (len(raw) // 4), raw)[0::2]
best = run = 0
for v in x:
    run = run + 1 if v == 0.0 else 0
    best = max(best, run)
# The file (peak 0.5) is louder than the tone (0.1): count the 1 ms
# windows, one period of its 1 kHz, in which it sounds.
loud = sum(max(map(abs, x[i:i + 48])) > 0.3 for i in range(0, len(x) - 47, 48))
print("silence %d frames, file %d ms, recording %d ms" % (
    best, loud, len(x) // 48))
PY
sed 's/^/# /' "$T/gap.out"
gap=$(awk '/^silence/ { print $2 }' "$T/gap.out")
loud=$(awk '/^silence/ { print $5 }' "$T/gap.out")
[ -n "$gap" ] && [ "$gap" -ge $((frames - 64)) ] && [ "$gap" -le $((frames + 64)) ]
check $? "the recording has one gap of silence where decoding stalled, as long as counted (${gap:-no} frames, $frames counted)"
[ -n "$loud" ] && [ "$loud" -ge 3995 ] && [ "$loud" -le 4005 ]
check $? "and the whole 4 s file around it: it played to its end (${loud:-no} ms)"
expect "the daemon still answers after the stall" ctl status
no_sanitizer_report "$T/daemon.log"
stop_daemon
check $? "SIGTERM stops the daemon cleanly"
finish
