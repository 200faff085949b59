#!/bin/sh
# tidepool-render end to end: sox is the oracle for the chain, cmp proves
# block-size independence, and every kind of bad input must fail cleanly
# with no output file left behind.
. tests/integration/lib.sh
R=$BIN/tidepool-render

# Three seconds of -10 dBFS-ish stereo noise, 48 kHz float.
sox -R -n -r 48000 -c 2 -e floating-point -b 32 "$T/noise.wav" \
    synth 3 whitenoise gain -14 2>/dev/null
sox -R -n -r 44100 -c 1 -b 16 "$T/mono.flac" synth 1 sine 440 gain -6 \
    2>/dev/null

cat >"$T/chain.conf" <<'CONF'
[stage.hp]
type = highpass
freq = 80
q = 0.707

[stage.eq]
type = peaking
freq = 1000
q = 1
gain = -3

[stage.vol]
type = gain
gain = -3
CONF

expect "renders a file through a chain" $R -q -c "$T/chain.conf" \
    "$T/noise.wav" "$T/out.wav"
sox "$T/noise.wav" -e floating-point -b 32 "$T/sox.wav" \
    highpass 80 0.707q equalizer 1000 1q -3 gain -3 2>/dev/null
# Measured 2026-12-02: -155.0 dBFS, float rounding (test_dsp_sox has the
# same floor); the bar leaves 10 dB.  dB turned into gain 0.005 % off
# (make mutate's gain-db-off-render) comes to -117 dBFS and fails it.
res=$(residual_db "$T/out.wav" "$T/sox.wav")
echo "# residual against sox (highpass, equalizer, gain): $res dBFS"
below "$res" -145
check $? "agrees with sox's highpass+equalizer+gain below -145 dBFS ($res)"

# A WAV keeps room for RF64's header (a JUNK chunk where ds64 goes), so
# that past 4 GiB it becomes RF64 in place; below, it stays plain RIFF.
# tests/rf64.sh (make soak) renders past 4 GiB.
[ "$(head -c 4 "$T/out.wav")" = RIFF ] &&
    [ "$(tail -c +9 "$T/out.wav" | head -c 8)" = WAVEJUNK ]
check $? "a WAV render is RIFF with room for RF64: $(head -c 16 "$T/out.wav" | tr -c '[:print:]' .)"

$R -q -c "$T/chain.conf" -b 64 "$T/noise.wav" "$T/b64.wav" &&
    $R -q -c "$T/chain.conf" -b 4096 "$T/noise.wav" "$T/b4096.wav"
check $? "renders with -b 64 and -b 4096"
expect "the output of -b 64 and -b 4096 is bit-identical" \
    cmp "$T/b64.wav" "$T/b4096.wav"

# The samples, not the files: the headers differ (libsndfile writes
# WAVE_FORMAT_EXTENSIBLE, sox does not).  float in, float out, no stage:
# every sample must come out with the bits it went in with.
wav_data() {
	python3 - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
riff, _, wave = struct.unpack("<4sI4s", f.read(12))
assert riff == b"RIFF" and wave == b"WAVE", "not a WAV file"
while True:
    head = f.read(8)
    if len(head) < 8:
        sys.exit("no data chunk")
    cid, size = struct.unpack("<4sI", head)
    if cid == b"data":
        sys.stdout.buffer.write(f.read(size))
        break
    f.seek(size + (size & 1), 1)
PY
}
expect "pass-through without -c" $R -q "$T/noise.wav" "$T/pass.wav"
wav_data "$T/pass.wav" >"$T/pass.raw" && wav_data "$T/noise.wav" >"$T/noise.raw"
[ -s "$T/noise.raw" ] &&
    [ "$(soxi -e "$T/pass.wav" 2>/dev/null)" = "$(soxi -e "$T/noise.wav" 2>/dev/null)" ] &&
    cmp "$T/pass.raw" "$T/noise.raw"
check $? "pass-through is exact: the same float samples, bit for bit"
expect "same length as the input" test "$(soxi -s "$T/pass.wav")" = \
    "$(soxi -s "$T/noise.wav")"

expect "reads FLAC, writes FLAC" $R -q "$T/mono.flac" "$T/mono-out.flac"
expect "output format follows the extension" \
    sh -c "soxi -t '$T/mono-out.flac' | grep -qi flac"
expect "rate kept (44100)" test "$(soxi -r "$T/mono-out.flac")" = 44100
# Lossy formats, decoded and compared with what went in: a 1 kHz sine at
# -13 dBFS RMS (noise is the worst case of a perceptual codec and says
# little).  Measured 2026-12-02, decoded: every frame there (144000),
# RMS within 0.1 dB, and a residual against the input of -51.8 (Vorbis),
# -58.1 (Opus) and -53.4 dBFS (MP3).  The bars: the same length, the RMS
# within 0.5 dB, the residual below -40 dBFS.  sox decodes Vorbis; it
# reads no Opus, and it keeps MP3's encoder delay, so those two are decoded
# by libsndfile through tidepool-render, whose reader is not its writer.
sox -R -n -r 48000 -c 2 -e floating-point -b 32 "$T/sine.wav" \
    synth 3 sine 1000 gain -10 2>/dev/null
sine_rms=$(rms_db "$T/sine.wav")
# lossy DECODED-WAV WHAT: the checks of one format.
lossy() {
	n=$(soxi -s "$1" 2>/dev/null)
	rms=$(rms_db "$1")
	res=$(residual_db "$1" "$T/sine.wav")
	echo "# $2 decoded: $n frames, RMS $rms dBFS (in: $sine_rms), residual $res dBFS"
	[ "$n" = 144000 ] &&
	    awk -v a="$rms" -v b="$sine_rms" 'BEGIN { d = a - b; exit !(d < 0.5 && d > -0.5) }' &&
	    below "$res" -40
	check $? "$2 decodes to the sine: every frame, its level, residual below -40 dBFS ($n, $rms, $res)"
}
expect "writes Ogg Vorbis" $R -q "$T/sine.wav" "$T/sine.ogg"
expect "the .ogg is Vorbis" sh -c "soxi -e '$T/sine.ogg' | grep -qx Vorbis"
sox "$T/sine.ogg" -e floating-point -b 32 "$T/ogg.wav" 2>"$T/sox-ogg.err"
lossy "$T/ogg.wav" "Ogg Vorbis (sox)"
expect "writes Opus" $R -q "$T/sine.wav" "$T/sine.opus"
expect "the .opus is Opus" grep -q OpusHead "$T/sine.opus"
$R -q "$T/sine.opus" "$T/opus.wav"
lossy "$T/opus.wav" "Opus (libsndfile)"
expect "writes MP3" $R -q "$T/sine.wav" "$T/sine.mp3"
expect "the .mp3 is MPEG audio" sh -c "soxi -t '$T/sine.mp3' | grep -qx mp3"
$R -q "$T/sine.mp3" "$T/mp3.wav"
lossy "$T/mp3.wav" "MP3 (libsndfile)"

cat >"$T/split.conf" <<'CONF'
[stage.split]
type = mixer
matrix = 1 0; 0 1; 1 0; 0 1
[stage.low]
type = lowpass
freq = 2000
channels = 0,1
[stage.high]
type = highpass
freq = 2000
channels = 2,3
CONF
expect "a 2 -> 4 channel crossover renders" $R -q -c "$T/split.conf" \
    "$T/noise.wav" "$T/four.wav"
expect "the crossover output has 4 channels" \
    test "$(soxi -c "$T/four.wav")" = 4

expect "summary line names the realtime factor" sh -c \
    "$R -c '$T/chain.conf' '$T/noise.wav' '$T/sum.wav' 2>&1 | grep -q 'x realtime'"

mkdir "$T/outdir"
cp "$T/noise.wav" "$T/second.wav"
expect "batch mode renders several files (-j 2 -o DIR)" $R -q -j 2 \
    -c "$T/chain.conf" -o "$T/outdir" "$T/noise.wav" "$T/second.wav"
expect "batch outputs exist" test -s "$T/outdir/noise.wav" -a \
    -s "$T/outdir/second.wav"
expect "batch output equals the single render" \
    cmp "$T/outdir/noise.wav" "$T/out.wav"

# ---- bad input: an error, a non-zero exit, and no file left ----
no_output() {
	! ls "$T"/bad* >/dev/null 2>&1
}
bad() {
	desc=$1; want=$2; shift 2
	$R -q "$@" >"$T/err.txt" 2>&1
	rc=$?
	[ $rc -ne 0 ] && grep -q -- "$want" "$T/err.txt" && no_output
	check $? "$desc: exit $rc, says '$want', leaves no file"
	[ $rc -ne 0 ] || sed 's/^/# /' "$T/err.txt"
	rm -f "$T"/bad*
}
bad "missing input" "No such file" "$T/nope.wav" "$T/bad.wav"
echo "this is not audio" >"$T/text.wav"
bad "not audio" "not an audio file" "$T/text.wav" "$T/bad.wav"
head -c 200000 "$T/noise.wav" >"$T/trunc.wav"
bad "truncated file" "truncated" "$T/trunc.wav" "$T/bad.wav"
cat >"$T/ch3.conf" <<'CONF'
[stage.x]
type = gain
gain = -3
channels = 3
CONF
bad "config asks for channel 3 of a stereo file" "ch3.conf:4" \
    -c "$T/ch3.conf" "$T/noise.wav" "$T/bad.wav"
cat >"$T/range.conf" <<'CONF'
[stage.hp]
type = highpass
freq = 30000
CONF
bad "frequency above rate/2" "range.conf:3: stage.hp: freq = 30000" \
    -c "$T/range.conf" "$T/noise.wav" "$T/bad.wav"
bad "unknown output extension" "unknown output format" "$T/noise.wav" \
    "$T/bad.xyz"
bad "unwritable output folder" "cannot write" "$T/noise.wav" \
    "/proc/bad.wav"
bad "bad -b" "must be between" -b 7 "$T/noise.wav" "$T/bad.wav"

# Usage errors are status 2, failures 1, as the man page says.
usage_status() {
	desc=$1; shift
	$R "$@" >"$T/usage.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q "^usage: tidepool-render\|must be between" "$T/usage.out"
	check $? "$desc: exit status 2 ($rc) with the usage or the limits"
}
usage_status "no arguments"
usage_status "an unknown option" -Z "$T/noise.wav" "$T/bad.wav"
usage_status "one file and no -o" "$T/noise.wav"
usage_status "-b 7" -b 7 "$T/noise.wav" "$T/bad.wav"
usage_status "-j 0" -j 0 -o "$T" "$T/noise.wav"
$R -q "$T/nope.wav" "$T/bad.wav" 2>/dev/null
rc=$?
[ $rc -eq 1 ]
check $? "a missing input is a failure, status 1 ($rc), not a usage error"
rm -f "$T"/bad*

# A convolver's larger levels run on a helper thread, and the engine
# thread waits where a result is due: the bits are those of the render
# that runs them inline, for any -b, even with a helper slowed on purpose
# (TEST ONLY: a 3 ms sleep after each wake).  With build/tsan
# (sanitizers.sh), ThreadSanitizer watches the engine and helper threads
# share the levels.
sox -R -n -r 48000 -c 2 -e floating-point -b 32 "$T/ir.wav" \
    synth 16384s pinknoise gain -30 2>/dev/null
printf '[engine]\nperiod = 64\n[stage.room]\ntype = convolver\nfile = ir.wav\n' \
    >"$T/conv.conf"
TIDEPOOL_RENDER_INLINE=1 $R -q -c "$T/conv.conf" -b 4096 "$T/noise.wav" \
    "$T/conv-inline.wav"
check $? "renders a 16,384-tap convolver inline"
$R -c "$T/conv.conf" -b 64 "$T/noise.wav" "$T/conv-helper.wav" \
    2>"$T/conv.log"
check $? "and with its levels on a helper thread"
grep -q "convolver jobs ran on a second thread, [0-9]* in the engine thread when due; none late" \
    "$T/conv.log"
check $? "the helper ran them: $(tail -n 1 "$T/conv.log")"
expect "the helper's output is bit-identical to the inline one" \
    cmp "$T/conv-inline.wav" "$T/conv-helper.wav"
TIDEPOOL_TEST_RENDER_HELPER_DELAY_MS=3 $R -q -c "$T/conv.conf" -b 256 \
    "$T/noise.wav" "$T/conv-slow.wav"
check $? "renders with a helper that sleeps 3 ms after each wake"
expect "a slow helper is waited for: bit-identical to the inline output" \
    cmp "$T/conv-inline.wav" "$T/conv-slow.wav"

# SIGINT half-way through a long render: nothing may be left.  A burn
# stage makes the render last (about 30 s of 60 s audio), so the signal
# surely lands while the partial file is being written.
sox -R -n -r 48000 -c 2 -e floating-point -b 32 "$T/long.wav" \
    synth 60 whitenoise gain -14 2>/dev/null
cat >"$T/slow.conf" <<'CONF'
[stage.slow]
type = burn
load = 0.5
CONF
$R -q -c "$T/slow.conf" "$T/long.wav" "$T/bad-int.wav" &
pid=$!
n=0
while ! ls "$T"/bad-int.wav.partial-* >/dev/null 2>&1 && [ $n -lt 100 ]; do
	sleep 0.05; n=$((n + 1))
done
started=$(ls "$T"/bad-int.wav.partial-* 2>/dev/null | wc -l)
kill -INT $pid
wait $pid
rc=$?
[ "$started" -eq 1 ] && [ $rc -ne 0 ] && no_output
check $? "SIGINT mid-render (partial file seen: $started) exits ($rc) and leaves no partial output"
rm -f "$T"/bad*

finish
