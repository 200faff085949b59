#!/bin/sh
# The convolver stage (issue 14).  Offline, against scipy's fftconvolve in
# float64 (tests/integration/convref.py) on -10 dBFS pink noise with a
# different signal on each channel: IRs of 1 to 262,144 taps, mono, per
# channel and true stereo, at 44.1 and 48 kHz, normalized, with gain, at
# another rate (resampled with soxr), both as tidepool-render runs it
# (uniform partitions, their latency hidden) and as the daemon does
# (--live-partitions: zero latency); the output does not depend on -b;
# the render's helper thread for the larger levels changes no bit;
# bad IRs and keys are refused with the file and line.  Live: tidepoold
# runs a convolver at 64 frames, `chain` and `stats` show the IR length,
# and (BIN=build/rtsan, from rtsan.sh) RealtimeSanitizer sees nothing
# unsafe in the callback; a worker planted late is counted and never
# waited for.
. tests/integration/lib.sh
R=$BIN/tidepool-render
REF=tests/integration/convref.py
ref() { /usr/bin/python3 -W ignore $REF "$@"; }

ref noise "$T/n48.wav" 48000 2 2 && ref noise "$T/n44.wav" 44100 2 2
check $? "test signals: 2 s of -10 dBFS pink noise, 48 and 44.1 kHz"

# conv RATE TAPS IR_CHANNELS PERIOD NORMALIZE [IR_RATE [BAND]]: renders
# the noise at RATE through a convolver with a fresh IR, sets $res to
# "ABS REL" (dBFS, dB against the reference's level).
conv() {
	# A failed step leaves no earlier figure behind to pass on.
	res="failed failed"
	ir_rate=${6:-$1}
	ref ir "$T/ir.wav" "$ir_rate" "$2" "$3" 7 ${7:-} || return 1
	cat >"$T/c.conf" <<CONF
[engine]
period = $4

[stage.room]
type = convolver
file = ir.wav
normalize = $5
CONF
	in=$T/n48.wav
	[ "$1" = 44100 ] && in=$T/n44.wav
	rm -f "$T/o.wav"
	$R -q $RFLAGS -c "$T/c.conf" "$in" "$T/o.wav" 2>"$T/render.log" ||
	    return 1
	if [ "$ir_rate" != "$1" ]; then
		res=$(ref check "$in" "$T/ir.wav" "$T/o.wav" "$5" 0 "$1")
	else
		res=$(ref check "$in" "$T/ir.wav" "$T/o.wav" "$5")
	fi
}

# Measured 2026-12-02 (live partitions): -145.9 (65,536 taps) to -163.8
# dBFS (7 taps); 1 tap is exact.  2026-12-08, the render's own: -147.5
# (4,096 and 65,536 taps) to -157.2 (7).  The issue's bar: -140.
# conv_ok WHAT RATE TAPS IR_CHANNELS PERIOD NORMALIZE: conv, and one
# check that the residual is at most -140 dBFS.
conv_ok() {
	what=$1; shift
	conv "$@"; set -- $res
	below "$1" -140
	check $? "$how: $what $1 dBFS <= -140"
}
for RFLAGS in --live-partitions ""; do
	how=${RFLAGS:-"hidden latency"}
	for taps in 1 7 64 65 4096 65536; do
		conv_ok "$taps taps, one IR for both channels, partition 256: residual" \
		    48000 $taps 1 256 none
	done
	conv_ok "65 taps, one IR channel per channel, partition 64:" \
	    48000 65 2 64 none
	conv_ok "4096 taps, true stereo (LL LR RL RR), partition 64:" \
	    48000 4096 4 64 none
	conv_ok "4096 taps per channel at 44.1 kHz:" 44100 4096 2 256 none
	conv_ok "normalize = energy:" 48000 4096 2 256 energy
	# Peak-normalized, this IR is loud (+27 dBFS peaks): the bar is
	# against the output's level, where the others' are at -137 to -140.
	conv 48000 4096 1 256 peak; set -- $res
	below "$2" -120
	check $? "$how: normalize = peak: $2 dB against the output's level <= -120"
	conv_ok "262,144 taps, partition 1024:" 48000 262144 1 1024 none
done
RFLAGS=
# Which the render ran, as its summary says.
ref ir "$T/ir.wav" 48000 65536 1 5
printf '[stage.room]\ntype = convolver\nfile = ir.wav\n' >"$T/h.conf"
$R -c "$T/h.conf" "$T/n48.wav" "$T/h.wav" 2>"$T/h.log" &&
    grep -q "convolver latency of 8192 frames (large partitions) removed" \
    "$T/h.log"
check $? "a 65,536-tap IR renders with 8,192 frames of latency removed: $(tail -n 1 "$T/h.log")"
$R --live-partitions -c "$T/h.conf" "$T/n48.wav" "$T/h.wav" 2>"$T/h.log" &&
    ! grep -q "latency" "$T/h.log"
check $? "with --live-partitions, none"

# The summary's peak and clipped count are the file's: a 50-sample delay
# as the IR moves the input's loud last 20 frames past its end, into the
# frames the render computes after the input and cuts off.
/usr/bin/python3 -W ignore - "$T/late.wav" "$T/delay.wav" <<'PY'
import sys
import numpy as np
from scipy.io import wavfile
x = np.zeros((48000, 2), dtype=np.float32)
x[-20:] = 1.5
wavfile.write(sys.argv[1], 48000, x)
h = np.zeros(8192, dtype=np.float32)
h[50] = 1
wavfile.write(sys.argv[2], 48000, h)
PY
printf '[stage.room]\ntype = convolver\nfile = delay.wav\n' >"$T/d.conf"
# (Silent but for the transforms' rounding, about -140 dBFS.)
$R -c "$T/d.conf" "$T/late.wav" "$T/d.wav" 2>"$T/d.log" &&
    grep -o "peak [^;]*" "$T/d.log" |
    awk '($2 == "-inf" || $2 + 0 < -100) && $4 == 0 { ok = 1 }
    END { exit !ok }'
check $? "the summary counts what the file holds: $(grep -o "peak [^;]*" "$T/d.log")"

# A convolver on one channel of two: with its latency hidden, the other
# channel must come out as it went in, in step (it is delayed inside the
# stage by as much, then the render drops the lot).
ref ir "$T/ir.wav" 48000 4096 1 5
printf '[stage.room]\ntype = convolver\nfile = ir.wav\nchannels = 1\n' \
    >"$T/one.conf"
$R -q -c "$T/one.conf" "$T/n48.wav" "$T/one.wav"
check $? "renders a convolver acting on channel 1 only"
/usr/bin/python3 -W ignore - "$T/n48.wav" "$T/ir.wav" "$T/one.wav" >"$T/one.out" <<'PY'
import sys
import numpy as np
from scipy.io import wavfile
from scipy.signal import fftconvolve
x = wavfile.read(sys.argv[1])[1].astype(np.float64)
h = wavfile.read(sys.argv[2])[1].astype(np.float64)
y = wavfile.read(sys.argv[3])[1]
same = y.shape == x.shape and np.array_equal(y[:, 0], x[:, 0].astype(np.float32))
ref = fftconvolve(x[:, 1], h)[:len(x)]
err = 20 * np.log10(np.sqrt(np.mean((y[:, 1] - ref) ** 2)) + 1e-50)
print("%d %.1f" % (same, err))
PY
set -- $(cat "$T/one.out") failed failed
[ "$1" = 1 ]
check $? "channel 0 passes bit for bit, in step"
below "$2" -140
check $? "channel 1 is convolved: $2 dBFS against scipy <= -140"

# An IR at 44.1 kHz in a 48 kHz chain, nothing in it above 16 kHz.  The
# reference brings it to 48 kHz with scipy's resample_poly, which is not
# soxr: they differ at -58 dBFS (measured 2026-12-02).  Unresampled, the
# residual is near 0 dBFS; resampled but not scaled by 44.1/48, -21.
conv 48000 4096 2 256 none 44100 16000; set -- $res
below "$1" -50
check $? "an IR at 44.1 kHz is resampled to 48 kHz: $1 dBFS against scipy's resampling <= -50"
grep -q "ir.wav is at 44100 Hz: resampled to 48000 Hz with soxr" "$T/render.log"
check $? "and the log says so"

# gain, and -b 64 against -b 4096 with other stages around it.
ref ir "$T/ir.wav" 48000 65536 2 9
cat >"$T/g.conf" <<'CONF'
[stage.hp]
type = highpass
freq = 40

[stage.room]
type = convolver
file = ir.wav
gain = -6

[stage.lim]
type = limiter
threshold = -1
CONF
$R -q -c "$T/g.conf" -b 64 "$T/n48.wav" "$T/b64.wav" &&
    $R -q -c "$T/g.conf" -b 4096 "$T/n48.wav" "$T/b4096.wav"
check $? "renders highpass, a 65,536-tap convolver and a limiter with -b 64 and -b 4096"
expect "the output of -b 64 and -b 4096 is bit-identical" \
    cmp "$T/b64.wav" "$T/b4096.wav"
$R -q --live-partitions -c "$T/g.conf" -b 64 "$T/n48.wav" "$T/l64.wav" &&
    $R -q --live-partitions -c "$T/g.conf" -b 4096 "$T/n48.wav" \
    "$T/l4096.wav"
check $? "renders the same with --live-partitions, -b 64 and -b 4096"
expect "with --live-partitions too, the output of -b 64 and -b 4096 is bit-identical" \
    cmp "$T/l64.wav" "$T/l4096.wav"
# Both ran the levels of 1,024 frames and up on the render's helper
# thread; inline (TIDEPOOL_RENDER_INLINE=1) and with a helper slowed on
# purpose (TEST ONLY: 2 ms after each wake, so that results are due before
# it has them and the engine thread must wait or run them), the bits are
# the same.
TIDEPOOL_RENDER_INLINE=1 $R -q -c "$T/g.conf" -b 64 "$T/n48.wav" \
    "$T/inline.wav"
check $? "renders the same chain with every level inline"
expect "the output with a helper thread is bit-identical to the inline one" \
    cmp "$T/b64.wav" "$T/inline.wav"
TIDEPOOL_TEST_RENDER_HELPER_DELAY_MS=2 $R -c "$T/g.conf" -b 512 \
    "$T/n48.wav" "$T/slow.wav" 2>"$T/slow.log"
check $? "renders with a helper that sleeps 2 ms after each wake: $(grep "convolver jobs" "$T/slow.log")"
expect "a slow helper is waited for, none late: bit-identical to the inline output" \
    cmp "$T/inline.wav" "$T/slow.wav"
cat >"$T/g.conf" <<'CONF'
[stage.room]
type = convolver
file = ir.wav
gain = -6
CONF
rm -f "$T/o.wav"
$R -q -c "$T/g.conf" "$T/n48.wav" "$T/o.wav"
set -- failed
set -- $(ref check "$T/n48.wav" "$T/ir.wav" "$T/o.wav" none -6)
below "$1" -140
check $? "gain = -6: $1 dBFS against the reference at -6 dB"

# Bad IRs and keys: refused, naming the file and line.
bad() {	# bad DESCRIPTION PATTERN STAGE-TEXT
	printf '[stage.room]\ntype = convolver\n%s\n' "$3" >"$T/bad.conf"
	$R -q -c "$T/bad.conf" "$T/n48.wav" "$T/bad.wav" >"$T/bad.log" 2>&1
	rc=$?
	[ $rc -ne 0 ] && grep -q "$2" "$T/bad.log" && [ ! -e "$T/bad.wav" ]
	check $? "$1: $(head -n 1 "$T/bad.log")"
}
ref ir "$T/three.wav" 48000 64 3 1
printf 'RIFF' >"$T/junk.wav"
/usr/bin/python3 - "$T/nan-ir.wav" <<'PY'
import sys
import numpy as np
from scipy.io import wavfile
h = np.zeros(64, dtype=np.float32)
h[0] = 1
h[17] = np.nan
wavfile.write(sys.argv[1], 48000, h)
PY
bad "no file key" "bad.conf:1: stage.room: a convolver needs file" ""
bad "a missing file" "bad.conf:3: stage.room: file = nope.wav: .*nope.wav: cannot open" "file = nope.wav"
bad "a file that is not audio" "file = junk.wav: .*junk.wav: cannot open" "file = junk.wav"
bad "3 IR channels on 2" "the IR has 3 channels; for the 2 channels it acts on it needs 1" "file = three.wav"
bad "a NaN in the IR" "nan-ir.wav: frame 17, channel 0 is not a finite number" "file = nan-ir.wav"
bad "normalize = loud" "bad.conf:4: stage.room: normalize = loud: must be none, peak or energy" "file = ir.wav
normalize = loud"

# Live, at 64 frames: a tone through a 4096-tap true-stereo convolver.
start_jack 64
check $? "a private JACK dummy server starts"
ref ir "$T/live.wav" 48000 4096 4 3
tone_config "$T/live.conf" "[stage.room]
type = convolver
file = live.wav
normalize = energy

[stage.meter]
type = meter"
start_daemon "$T/live.conf"
check $? "tidepoold starts with a convolver"
wait_for 10 state_is running
check $? "it runs"
audio_passes 750
expect "record" ctl record "$T/rec.wav"
audio_passes 750
expect "set room.gain -6 live" ctl set room.gain -6
audio_passes 750
expect "record stop" ctl record stop
json_get "$(ctl --json chain)" stages.0.ir_frames >"$T/ir_frames"
[ "$(cat "$T/ir_frames")" = 4096 ]
check $? "chain shows the IR length ($(cat "$T/ir_frames"))"
json_get "$(ctl --json stats)" stages.0.ir_frames >"$T/ir_frames"
[ "$(cat "$T/ir_frames")" = 4096 ]
check $? "stats show it too ($(cat "$T/ir_frames"))"
lvl=$(rms_db "$T/rec.wav" 0.2 0.5)
after=$(rms_db "$T/rec.wav" -0.4)
echo "# recording: $lvl dBFS RMS before the gain change, $after after"
awk -v x="$lvl" 'BEGIN { exit !(x > -40 && x < 0) }'
check $? "the tone comes through the convolver ($lvl dBFS)"
awk -v a="$lvl" -v b="$after" 'BEGIN { d = a - b; exit !(d > 5.5 && d < 6.5) }'
check $? "and 6 dB lower after set room.gain -6 ($lvl, $after)"
x=$(json_get "$(ctl --json stats)" xruns.total)
late=$(json_get "$(ctl --json stats)" xruns.late_partitions)
echo "# xruns: $x; late partitions: $late (not a pass/fail figure: timing)"
[ -n "$late" ]
check $? "stats --json has xruns.late_partitions ($late)"
stop_daemon
check $? "tidepoold stops cleanly"
no_sanitizer_report "$T/daemon.log"

# A planted late worker (TEST ONLY: every worker sleeps 300 ms before
# each round of work): the levels of 256 and 1,024 frames are due 5 and
# 21 ms after they are handed over, so their results come too late.  The
# callback must not wait for them (callbacks keep coming at the server's
# pace) and must count them, in stats, the JSON and the metrics.
late_above() {
	n=$(json_get "$(ctl --json stats)" xruns.late_partitions) &&
	    [ "${n:-0}" -gt "$1" ]
}
TIDEPOOL_TEST_WORKER_DELAY_MS=300 start_daemon "$T/live.conf"
check $? "tidepoold starts with a worker that sleeps 300 ms a round"
wait_for 10 state_is running
check $? "it runs"
grep -q "TEST: every worker sleeps 300 ms" "$T/daemon.log"
check $? "the log says the workers are slowed on purpose"
audio_passes 1500
check $? "the callback keeps running: 1,500 periods (2 s of audio) pass"
wait_for 20 late_above 0
check $? "late partitions are counted ($(json_get "$(ctl --json stats)" xruns.late_partitions))"
ctl stats | grep -q "late partition (a convolver's worker behind) [1-9][0-9]* ([1-9][0-9]* blocks)"
check $? "tidepoolctl stats shows them: $(ctl stats | grep "late partition")"
ctl metrics | grep -q "^tidepool_late_partitions_total [1-9]"
check $? "and the metrics: $(ctl metrics | grep "^tidepool_late_partitions_total ")"
# A cause of its own: the callbacks it happened in, an episode naming it.
cb=$(json_get "$(ctl --json stats)" xruns.late_partition)
[ "${cb:-0}" -gt 0 ]
check $? "callbacks with a late partition are an xrun cause of their own ($cb)"
ctl metrics | grep -q '^tidepool_xruns_total{cause="late_partition"} [1-9]'
check $? "in the metrics too: $(ctl metrics | grep 'cause="late_partition"')"
ctl --json stats | python3 -c '
import json, sys
eps = json.load(sys.stdin)["episodes"]
sys.exit(0 if any("late_partition" in e["causes"] for e in eps) else 1)'
check $? "and an episode names it"
stop_daemon
check $? "tidepoold stops cleanly with its workers behind"
no_sanitizer_report "$T/daemon.log"
finish
