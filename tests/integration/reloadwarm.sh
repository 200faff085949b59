#!/bin/sh
# A reload changes the sound and nothing else (issue 14), live on a
# private JACK dummy server.  Before, the new chain was faded in from its
# empty state: a limiter's 5 ms lookahead line of zeros made a step of
# about a quarter of the tone's peak mid-crossfade, and a convolver's
# empty history a dip the length of its IR.  Now the new chain is run
# over the recent input first (engine_warm_up) and catches up in the
# callback before it is heard.
#
# The signal: a 440 Hz tone at -6 dBFS, which repeats every 1,200
# samples (11 cycles); channel 1 is delayed by 0.5 ms and 4 dB quieter, so
# the channels differ in level and phase.  (Not a tone whose cycle divides
# the 64-frame period: a swap comes at a period boundary, and the step an
# empty lookahead line makes is the tone's value where the new chain
# began, which would then always be 0.)  Recorded across four reloads: the same
# limiter chain again, then a convolver (a 500-tap IR) added, then that
# chain again.  Checked on the recording:
#   - no sample-to-sample step is larger than the largest step of the
#     steady signal before and after (margin 5 %, for the crossfade's own
#     slope between two different chains: a gain change of 1/480 per
#     sample on their difference);
#   - every sample equals the one 1,200 samples earlier (to 1e-4) except
#     over one stretch of at most 1,800 frames: the crossfade of the one
#     reload that changed the chain (480 frames, plus the 1,200 of the
#     comparison).  An empty convolver history faded in is caught here:
#     it is a dip, not a step.
. tests/integration/lib.sh

chain_a='[stage.side]
type = delay
ms = 0.5
channels = 1

[stage.sidegain]
type = gain
gain = -4
channels = 1

[stage.lim]
type = limiter'
chain_b="$chain_a

[stage.room]
type = convolver
file = ir.wav"
write_config() {	# write_config STAGES
	tone_config "$T/w.conf" "$1"
	sed -i 's/^tone_level = -20$/tone_level = -6/' \
	    "$T/w.conf"
}

# The IR: 0.6 at tap 0, then a decaying tail worth 0.4 more, 500 taps in
# all: at 64 frames the convolver's head and first level (64 + 7 x 64)
# hold them, all run in the callback.  A longer IR has levels on worker
# threads, and on a loaded machine (they are not real-time under the
# dummy server) a level now and then comes late and is left out, which
# changes the sound by itself: seen here with 2,400 taps, 6,306 samples
# off over 1.6 s.  The workers' part is convolver.sh's.
python3 - "$T/ir.f32" <<'PY'
import math, struct, sys
tail = [math.exp(-k / 100.0) for k in range(1, 500)]
s = sum(tail)
h = [0.6] + [0.4 * t / s for t in tail]
open(sys.argv[1], "wb").write(struct.pack("<%df" % len(h), *h))
PY
sox -t f32 -r 48000 -c 1 "$T/ir.f32" -e floating-point -b 32 "$T/ir.wav"
check $? "a 500-tap IR made with sox"

start_jack 64
check $? "a private JACK dummy server starts"
write_config "$chain_a"
start_daemon "$T/w.conf"
check $? "tidepoold starts with a limiter"
wait_for 10 state_is running
check $? "it runs"
audio_passes 500
expect "record" ctl record "$T/rec.wav"
audio_passes 500
expect "reload, the same limiter chain" ctl reload
audio_passes 500
write_config "$chain_b"
expect "reload, a convolver added" ctl reload
audio_passes 500
expect "reload, the same convolver chain" ctl reload
audio_passes 500
expect "record stop" ctl record stop
grep -q "warmed up on [1-9][0-9]* ms" "$T/daemon.log"
check $? "the log says how much input each new chain was warmed on"
grep "warmed up" "$T/daemon.log" | sed 's/^/# /'
dropped=$(json_get "$(ctl --json stats)" xruns.record_dropped_frames \
    2>/dev/null || echo "?")
echo "# record_dropped_frames: $dropped"

python3 - "$T/rec.wav" >"$T/warm.out" 2>&1 <<'PY'
import struct, subprocess, sys
raw = subprocess.run(["sox", sys.argv[1], "-t", "f32", "-"],
    capture_output=True, check=True).stdout
x = struct.unpack("<%df" % (len(raw) // 4), raw)
chans = [x[0::2], x[1::2]]
n = len(chans[0])
steady = 12000		# 0.25 s: before the first reload, after the last
own = 0.0
for y in chans:
    for lo, hi in ((1, steady), (n - steady, n)):
        own = max(own, max(abs(y[i] - y[i - 1]) for i in range(lo, hi)))
worst, at = 0.0, 0
for c, y in enumerate(chans):
    for i in range(1, n):
        d = abs(y[i] - y[i - 1])
        if d > worst:
            worst, at = d, i
odd = [i for y in chans for i in range(1200, n)
       if abs(y[i] - y[i - 1200]) > 1e-4]
span = (max(odd) - min(odd) + 1) if odd else 0
print("frames %d; largest step %.5f at %d, the steady signal's own %.5f; "
      "%d samples differ from a period before, over %d frames (%s..%s)" % (
      n, worst, at, own, len(odd), span,
      min(odd) if odd else "-", max(odd) if odd else "-"))
print("step %.6f own %.6f span %d" % (worst, own, span))
PY
sed 's/^/# /' "$T/warm.out"
awk '$1 == "step" { exit !($2 <= $4 * 1.05 && $4 > 0.025) } END { if (NR == 0) exit 1 }' \
    "$T/warm.out"
check $? "no sample steps further than the steady signal does (+5 %)"
awk '$1 == "step" { exit !($6 > 0 && $6 <= 1800) }' "$T/warm.out"
check $? "the sound changes only over one crossfade: the reload that added the convolver"
stop_daemon
check $? "SIGTERM stops the daemon"
finish
