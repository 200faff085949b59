#!/bin/sh
# tidepool-render as a sox user drives it: pipes both ways through sox
# (WAV, FLAC, raw), FORMAT options, TPDF dither measured against what it
# must add, MP3s of every common rate and mode, batch folders and name
# clashes, and the time left in the progress line.
. tests/integration/lib.sh
R=$BIN/tidepool-render

sox -R -n -r 44100 -c 2 -b 16 "$T/in.flac" synth 3 sine 440 sine 660 \
    gain -6 2>/dev/null
sox "$T/in.flac" -e floating-point -b 32 "$T/in.wav"
frames=$(soxi -s "$T/in.flac")

# same_audio A B: equal lengths and a residual of -inf (or below -140 dB).
same_audio() {
	[ "$(soxi -s "$1")" = "$(soxi -s "$2")" ] || return 1
	res=$(residual_db "$1" "$2")
	[ "$res" = "-inf" ] || below "$res" -140
}

# ---- pipes: sox -> tidepool-render -> sox ------------------------------
sox "$T/in.flac" -t wav - | $R -q - "$T/p-wav.wav"
check $? "WAV from a pipe (-)"
expect "  is the same audio" same_audio "$T/p-wav.wav" "$T/in.wav"
sox "$T/in.flac" -t flac - | $R -q -t flac - "$T/p-flac.wav"
check $? "FLAC from a pipe with -t flac (spooled)"
expect "  is the same audio" same_audio "$T/p-flac.wav" "$T/in.wav"
sox "$T/in.flac" -t raw -e signed-integer -b 16 - |
    $R -q -t raw -r 44100 --channels 2 --bits 16 -e signed - "$T/p-raw.wav"
check $? "raw from a pipe with -t raw -r --channels --bits -e"
expect "  is the same audio" same_audio "$T/p-raw.wav" "$T/in.wav"

$R -q "$T/in.wav" -t wav - | sox -t wav - "$T/o-wav.wav" 2>/dev/null
check $? "WAV to a pipe (-t wav -)"
expect "  is the same audio" same_audio "$T/o-wav.wav" "$T/in.wav"
$R -q "$T/in.flac" -t flac --bits 16 - | sox -t flac - "$T/o-flac.wav"
check $? "FLAC to a pipe (-t flac --bits 16 -)"
expect "  is the same audio (16 bits in, 16 out: the dither rounds away)" \
    same_audio "$T/o-flac.wav" "$T/in.flac"
$R -q "$T/in.wav" -t raw -e floating-point - |
    sox -t raw -r 44100 -c 2 -e floating-point -b 32 - "$T/o-raw.wav"
check $? "raw floats to a pipe"
expect "  is the same audio" same_audio "$T/o-raw.wav" "$T/in.wav"

cat >"$T/x.conf" <<'CONF'
[stage.vol]
type = gain
gain = -6
CONF
sox "$T/in.flac" -t wav - | $R -c "$T/x.conf" -q - -t flac - |
    sox -t flac - "$T/chain.wav"
check $? "sox -t wav - | tidepool-render -c x.conf - -t flac - | sox - out.wav"
sox "$T/in.flac" -e floating-point -b 32 "$T/chain-sox.wav" gain -6
res=$(residual_db "$T/chain.wav" "$T/chain-sox.wav")
below "$res" -130
check $? "  and the pipeline applies the chain ($res dBFS from sox's gain -6)"

sox "$T/in.flac" -t flac - | $R -q - "$T/bad.wav" 2>"$T/err.txt"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot read this stream from a pipe" "$T/err.txt" &&
    grep -q -- "-t flac" "$T/err.txt" && [ ! -e "$T/bad.wav" ]
check $? "FLAC from a pipe without -t: a clear error naming -t (exit $rc)"
$R -q "$T/in.wav" - >/dev/null 2>"$T/err.txt"
[ $? -eq 1 ] && grep -q "say its type with -t" "$T/err.txt"
check $? "stdout without -t: a clear error"
$R -q -r 44100 "$T/in.wav" "$T/bad.wav" 2>"$T/err.txt"
[ $? -eq 1 ] && grep -q "describe a raw input" "$T/err.txt"
check $? "-r on an input with a header is refused"
$R -q -t raw -r 44100 - "$T/bad.wav" </dev/null 2>"$T/err.txt"
[ $? -eq 1 ] && grep -q "needs -r RATE, --channels N" "$T/err.txt"
check $? "-t raw without --channels is refused"
$R -q "$T/in.wav" --channels 1 "$T/bad.wav" 2>"$T/err.txt"
[ $? -eq 1 ] && grep -q "the chain gives 2 channels" "$T/err.txt" &&
    [ ! -e "$T/bad.wav" ]
check $? "an output --channels the chain does not give is refused"
$R -q "$T/in.wav" --bits 12 "$T/bad.wav" 2>"$T/err.txt"
[ $? -eq 1 ] && grep -q "cannot hold 12-bit" "$T/err.txt"
check $? "--bits the type cannot hold is refused"

# ---- output formats ------------------------------------------------------
expect "-r on the output resamples" $R -q "$T/in.wav" -r 48000 "$T/r48.wav"
expect "  to 48000 Hz" test "$(soxi -r "$T/r48.wav")" = 48000
expect "--bits 16 -e signed-integer writes 16-bit WAV" \
    $R -q "$T/in.wav" --bits 16 -e signed-integer "$T/s16.wav"
expect "  (soxi says 16-bit signed)" sh -c \
    "soxi '$T/s16.wav' | grep -q '16-bit Signed Integer PCM'"
expect "-t flac with no extension" $R -q "$T/in.wav" -t flac "$T/noext"
expect "  is FLAC, 24-bit by default" sh -c \
    "soxi -t '$T/noext' | grep -q flac && soxi -b '$T/noext' | grep -q 24"
expect "WAV stays float by default" sh -c \
    "$R -q '$T/in.flac' '$T/f.wav' && soxi '$T/f.wav' | grep -q 'Floating Point'"

# ---- dither --------------------------------------------------------------
# -30 dBFS float noise reduced to 16 bits.  Rounding alone leaves an error
# of LSB/sqrt(12) RMS (-101.1 dBFS); TPDF dither of +-1 LSB adds LSB^2/6,
# LSB/2 RMS in all (-96.3 dBFS).
sox -R -n -r 48000 -c 2 -e floating-point -b 32 "$T/fl.wav" synth 5 \
    whitenoise gain -30 2>/dev/null
# sox's noise sits on a 2^-23 grid for most samples, which would be
# written undithered at 24 bits (nothing to round); a gain stage moves
# every sample off it, and its float render is the reference there.
cat >"$T/g.conf" <<'CONF'
[stage.vol]
type = gain
gain = -0.5
CONF
$R -q "$T/fl.wav" --bits 16 "$T/d16.wav" &&
    $R -q --no-dither "$T/fl.wav" --bits 16 "$T/n16.wav" &&
    $R -q -c "$T/g.conf" "$T/fl.wav" --bits 24 "$T/d24.wav" &&
    $R -q -c "$T/g.conf" "$T/fl.wav" "$T/g32.wav"
check $? "renders to 16 bits with and without dither, and to 24"
d=$(residual_db "$T/d16.wav" "$T/fl.wav")
n=$(residual_db "$T/n16.wav" "$T/fl.wav")
d24=$(residual_db "$T/d24.wav" "$T/g32.wav")
echo "# error to 16 bits: dithered $d dBFS, rounded $n dBFS; to 24 bits: $d24"
awk -v x="$d" 'BEGIN { exit !(x > -96.8 && x < -95.8) }'
check $? "16-bit TPDF dither: error at -96.3 dBFS as TPDF predicts ($d)"
awk -v x="$n" 'BEGIN { exit !(x > -101.6 && x < -100.6) }'
check $? "--no-dither: rounding error alone, -101.1 dBFS ($n)"
awk -v x="$d24" 'BEGIN { exit !(x > -145 && x < -144) }'
check $? "24-bit TPDF dither: error at -144.5 dBFS ($d24)"
expect_fail "dithered output is not the plain rounding" \
    cmp -s "$T/d16.wav" "$T/n16.wav"
sox -D "$T/fl.wav" -b 16 "$T/sox16.wav"
# The samples, not the headers: ours has room for RF64's (a JUNK chunk).
sox "$T/n16.wav" -t s16 "$T/n16.raw" && sox "$T/sox16.wav" -t s16 "$T/sox16.raw"
expect "--no-dither equals sox -D's 16-bit rounding" \
    cmp "$T/n16.raw" "$T/sox16.raw"
$R -q "$T/fl.wav" --bits 16 "$T/d16b.wav"
expect "dither is the same on every run (reproducible renders)" \
    cmp "$T/d16.wav" "$T/d16b.wav"

# ---- MP3: a length estimate is not a promise --------------------------
for rate in 22050 44100 48000; do
	for mode in cbr vbr; do
		f=$T/$mode-$rate.mp3
		[ $mode = vbr ] && q="-C -4.2" || q=
		# shellcheck disable=SC2086
		sox -R -n -r $rate -c 2 $q "$f" synth 5 sine 440 gain -6 \
		    2>/dev/null
		$R "$f" "$T/mp3.wav" 2>"$T/err.txt"
		rc=$?
		got=$(soxi -s "$T/mp3.wav" 2>/dev/null)
		[ $rc -eq 0 ] && [ -n "$got" ] &&
		    grep -q "$T/mp3.wav: $got frames" "$T/err.txt"
		check $? "MP3 $mode at $rate Hz renders and reports its real length ($got frames, exit $rc)"
		[ $rc -eq 0 ] || sed 's/^/# /' "$T/err.txt"
		rm -f "$T/mp3.wav"
	done
done
sox -R -n -r 44100 -c 2 -C -4.2 "$T/long.mp3" synth 20 sine 440 2>/dev/null
size=$(stat -c %s "$T/long.mp3")
head -c $((size / 2)) "$T/long.mp3" >"$T/cut.mp3"
$R -q "$T/cut.mp3" "$T/bad.wav" 2>"$T/err.txt"
rc=$?
[ $rc -eq 1 ] && grep -q "truncated" "$T/err.txt" && [ ! -e "$T/bad.wav" ]
check $? "an MP3 cut in half is still refused as truncated (exit $rc)"

# ---- batch ----------------------------------------------------------------
mkdir -p "$T/a/sub" "$T/b" "$T/out"
cp "$T/in.flac" "$T/a/f1.flac"
cp "$T/in.flac" "$T/b/f1.flac"
cp "$T/in.flac" "$T/a/sub/deep.flac"
echo "not audio" >"$T/a/notes.txt"
$R -q -o "$T/out" "$T/in.wav" "$T/a/f1.flac" "$T/b/f1.flac" 2>"$T/err.txt"
rc=$?
[ $rc -ne 0 ] && grep -q "a/f1.flac and .*b/f1.flac would both be written" \
    "$T/err.txt" && [ -z "$(ls "$T/out")" ]
check $? "two inputs, one output name: refused naming both, nothing written (exit $rc)"
expect "a folder stands for its audio files" \
    $R -q -o "$T/out" "$T/a"
expect "  its audio files only, not its subfolders" \
    test "$(ls "$T/out")" = "f1.flac"
rm -f "$T/out"/*
expect "-R goes into subfolders, -t sets the outputs' type" \
    $R -q -R -o "$T/out" "$T/a" -t wav
expect "  deep.wav and f1.wav" test "$(ls "$T/out" | tr '\n' ' ')" = \
    "deep.wav f1.wav "
expect "  as WAV" sh -c "soxi -t '$T/out/deep.wav' | grep -q wav"

# ---- progress --------------------------------------------------------------
# The progress line needs a terminal on stderr: script(1) gives one.
cat >"$T/slow.conf" <<'CONF'
[stage.slow]
type = burn
load = 0.3
CONF
sox -R -n -r 48000 -c 2 "$T/ten.wav" synth 10 whitenoise gain -20 2>/dev/null
script -qec "$R -c '$T/slow.conf' '$T/ten.wav' '$T/prog.wav'" /dev/null \
    >"$T/tty.txt" 2>&1
grep -q "s left" "$T/tty.txt" && grep -q "% " "$T/tty.txt"
check $? "the progress line shows the time left"
grep -q "s left" "$T/tty.txt" || tr '\r' '\n' <"$T/tty.txt" | sed 's/^/# /' |
    head -n 5

finish
