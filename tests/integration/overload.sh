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
# Rates are compared with wide margins (hundreds against a handful), never
# timed tightly: the machine is shared.
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

# late_in SECONDS: how many callbacks were late over that long.
late_in() {
	a=$(stat xruns.late)
	sleep "$1"
	b=$(stat xruns.late)
	echo $((b - a))
}

start_jack 64
check $? "a private JACK dummy server starts"
write_config "$T/a.conf" "[stage.slow]
type = burn
load = 0
"
TIDEPOOL_TEST_STALL_DECODE=96000:700 start_daemon "$T/a.conf"
check $? "tidepoold starts with a burn stage at load 0"
wait_for 10 sh -c "test \$('$BIN/tidepoolctl' -s '$T/control.sock' --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"callbacks\"])') -gt 500"
check $? "the callback runs"

quiet=$(late_in 1)
echo "# late callbacks in 1 s at load 0: $quiet"

# ---- overload -----------------------------------------------------------
expect "set slow.load 1.5 (each callback takes 1.5 periods)" \
    ctl set slow.load 1.5
sleep 0.3
hot=$(late_in 1)
echo "# late callbacks in 1 s at load 1.5: $hot"
[ "$hot" -gt 200 ] && [ "$hot" -gt $((quiet * 10)) ]
check $? "overloaded, the callbacks are counted late ($hot in 1 s, $quiet quiet)"
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

expect "set slow.load 0 removes the burn" ctl set slow.load 0
sleep 0.5
cool=$(late_in 1)
echo "# late callbacks in 1 s after set slow.load 0: $cool"
[ "$cool" -lt $((hot / 10)) ]
check $? "after set, the callbacks are on time again ($cool late in 1 s)"

expect "overload again" ctl set slow.load 1.5
sleep 0.3
hot2=$(late_in 1)
write_config "$T/a.conf" ""
expect "a reload without the burn stage is taken while overloaded" ctl reload
sleep 0.5
cool2=$(late_in 1)
echo "# late in 1 s: $hot2 overloaded, $cool2 after the reload"
[ "$hot2" -gt 200 ] && [ "$cool2" -lt $((hot2 / 10)) ]
check $? "after the reload, the callbacks are on time again"
expect "the chain no longer has the burn stage" sh -c \
    "! '$BIN/tidepoolctl' -s '$T/control.sock' --json chain | grep -q '\"slow\"'"

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
# Watch the episodes while it plays: on a busy machine the ring of the
# last 16 may fill with the dummy server's own xruns soon after.
python3 - "$T/control.sock" >"$T/episodes.out" 2>&1 <<'PY'
import json, socket, sys, time
def ask(line):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sys.argv[1]); s.sendall(line.encode() + b"\n")
        return json.loads(s.makefile("rb").readline())
longest, end = 0, time.monotonic() + 15
while time.monotonic() < end:
    for e in ask("stats")["episodes"]:
        if "source_starved" in e["causes"]:
            longest = max(longest, e["callbacks"])
    if ask("status")["source"].startswith("tone"):
        print("longest source_starved episode: %d callbacks" % longest)
        sys.exit(0)
    time.sleep(0.1)
sys.exit("the file did not end")
PY
check $? "the file plays to its end, and the configured tone comes back"
sleep 0.3
expect "record stop" ctl record stop
stats=$(ctl --json stats)
starved=$(json_get "$stats" xruns.source_starved)
frames=$(json_get "$stats" xruns.starved_frames)
echo "# source_starved callbacks: $starved, starved frames: $frames ($(awk -v f="$frames" 'BEGIN { printf "%.0f", f / 48 }') ms)"
[ "$starved" -gt 100 ]
check $? "the stall is counted as source_starved ($starved callbacks)"
awk -v f="$frames" 'BEGIN { exit !(f > 0.3 * 48000 && f < 1.5 * 48000) }'
check $? "the silence put in its place is about the stall ($frames frames)"
n=$(sed -n 's/^longest source_starved episode: \([0-9]*\).*/\1/p' "$T/episodes.out")
[ "${n:-0}" -gt 100 ]
check $? "an episode of over 100 callbacks names the cause source_starved (${n:-none})"

# In the recording: the tone, the file, one gap of silence where the
# decoding stalled, the rest of the file, the tone again.
python3 - "$T/rec.wav" >"$T/gap.out" 2>&1 <<'PY'
import struct, subprocess, sys
raw = subprocess.run(["sox", sys.argv[1], "-t", "f32", "-c", "1", "-"],
    capture_output=True, check=True).stdout
x = struct.unpack("<%df" % (len(raw) // 4), raw)
win = 480                               # 10 ms at 48 kHz
silent = [max(map(abs, x[i:i + win])) < 1e-4
          for i in range(0, len(x) - win + 1, win)]
best = run = 0
for s in silent:
    run = run + 1 if s else 0
    best = max(best, run)
print("longest silence %d ms of %d ms" % (best * 10, len(silent) * 10))
assert 300 <= best * 10 <= 1500, best
PY
check $? "the recording has a gap of silence where decoding stalled ($(tail -n 1 "$T/gap.out"))"
expect "the daemon still answers after the stall" ctl status
expect "no sanitizer report in the daemon's log" sh -c \
    "! grep -q 'Sanitizer' '$T/daemon.log'"
stop_daemon
check $? "SIGTERM stops the daemon cleanly"
finish
