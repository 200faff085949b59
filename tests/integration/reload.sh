#!/bin/sh
# What a reload sounds like, on a private JACK dummy server: the new chain
# is crossfaded in over 10 ms, so a 20 dB gain change on a tone moves the
# level in about ten 1 ms steps, and no sample jumps further from the last
# than the tone itself ever does (a hard switch would click).
. tests/integration/lib.sh

vol_config() {	# vol_config FILE GAIN
	tone_config "$1" "[stage.vol]
type = gain
gain = $2"
}

start_jack 64
check $? "a private JACK dummy server starts"
vol_config "$T/a.conf" 0
start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 10 state_is running
check $? "it runs"
expect "record" ctl record "$T/rec.wav"
audio_passes 400
vol_config "$T/a.conf" -20
expect "reload with the gain 20 dB lower" ctl reload
audio_passes 400
expect "record stop" ctl record stop

python3 - "$T/rec.wav" >"$T/fade.out" 2>&1 <<'PY'
import struct, subprocess, sys
raw = subprocess.run(["sox", sys.argv[1], "-t", "f32", "-"],
    capture_output=True, check=True).stdout
x = struct.unpack("<%df" % (len(raw) // 4), raw)[0::2]
# The tone is 440 Hz at peak 0.1, then 0.01: 1 ms windows (48 samples,
# about half its period) whose peak lies between the two are the fade.
peaks = [max(map(abs, x[i:i + 48])) for i in range(0, len(x) - 47, 48)]
loud = [i for i, p in enumerate(peaks) if p > 0.095]
quiet = [i for i, p in enumerate(peaks) if p < 0.0125]
fade = [i for i, p in enumerate(peaks) if 0.0125 <= p <= 0.095]
first = quiet[0] if quiet else len(peaks)
# Sample to sample: the loudest step before the reload is the tone's own.
own = max(abs(x[i] - x[i - 1]) for i in range(1, loud[-1] * 48))
worst = max(abs(x[i] - x[i - 1]) for i in range(1, len(x)))
print("fade %d ms (windows %s..%s), loud until %d ms, quiet from %d ms; "
      "largest step %.5f, the tone's own %.5f" % (
      len(fade), fade[0] if fade else "-", fade[-1] if fade else "-",
      loud[-1], first, worst, own))
PY
sed 's/^/# /' "$T/fade.out"
fade=$(sed -n 's/^fade \([0-9]*\) ms.*/\1/p' "$T/fade.out")
[ -n "$fade" ] && [ "$fade" -ge 7 ] && [ "$fade" -le 13 ]
check $? "the level moves over about 10 ms (${fade:-no} ms between the two levels)"
awk '/^fade/ { for (i = 1; i <= NF; i++) { if ($i == "step") w = $(i + 1);
    if ($i == "own") o = $(i + 1) } } END { exit !(w != "" && w + 0 <= o * 1.01) }' \
    "$T/fade.out"
check $? "and no sample steps further than the tone itself does: no click"
stop_daemon
check $? "SIGTERM stops the daemon"
finish
