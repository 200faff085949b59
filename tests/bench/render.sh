#!/bin/sh
# Offline rendering speed: tidepool-render against sox and ecasound on the
# same chain (gain -3 dB, highpass 80 Hz, lowpass 16 kHz) and against its
# own pass-through (libsndfile reading and writing, no stages), on a
# 10-minute 48 kHz stereo float WAV.  Medians of RUNS rounds, interleaved so
# machine noise falls on all alike.  Peak memory for a 1- and a 10-minute
# file shows it does not grow with the file.
RUNS=${RUNS:-7}
BIN=${BIN:-build/release}
T=$(mktemp -d /tmp/tidepool-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

sox -R -n -r 48000 -c 2 -e floating-point -b 32 "$T/10min.wav" \
    synth 600 pinknoise gain -10 2>/dev/null
sox "$T/10min.wav" "$T/1min.wav" trim 0 60
cat >"$T/chain.conf" <<'CONF'
[stage.vol]
type = gain
gain = -3
[stage.hp]
type = highpass
freq = 80
q = 0.707
[stage.lp]
type = lowpass
freq = 16000
q = 0.707
CONF

# run NAME COMMAND...: wall time (us; time(1) counts only hundredths) and
# peak RSS (KiB) into $T/NAME.times
run() {
	name=$1; shift
	t0=$(date +%s%N)
	/usr/bin/time -f "%M" -o "$T/t" "$@" >/dev/null 2>&1 ||
	    echo "# $name failed" >&2
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000 )) $(cat "$T/t")" >>"$T/$name.times"
	rm -f "$T/out.wav"
}
median() {	# median of column $2 in file $1
	sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END {
	    if (NR % 2) print v[(NR + 1) / 2]
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

have_eca=0
command -v ecasound >/dev/null 2>&1 && have_eca=1
i=0
while [ $i -lt "$RUNS" ]; do
	# The two tidepool runs take a tenth of a second and the machine's
	# noise is of that order: three of each per round for the ratio.
	for k in 1 2 3; do
		run tidepool $BIN/tidepool-render -q -c "$T/chain.conf" \
		    "$T/10min.wav" "$T/out.wav"
		run passthrough $BIN/tidepool-render -q "$T/10min.wav" \
		    "$T/out.wav"
	done
	run sox sox "$T/10min.wav" -e floating-point -b 32 "$T/out.wav" \
	    gain -3 highpass 80 0.707q lowpass 16000 0.707q
	[ $have_eca -eq 1 ] && run ecasound ecasound -q -f:f32_le,2,48000 \
	    -i "$T/10min.wav" -o "$T/out.wav" -ea:70.79 -efh:80 -efl:16000
	run tidepool1 $BIN/tidepool-render -q -c "$T/chain.conf" \
	    "$T/1min.wav" "$T/out.wav"
	i=$((i + 1))
done

tp=$(median "$T/tidepool.times" 1)
echo "### Offline render, 10 min 48 kHz stereo float, gain+highpass+lowpass (medians of $((3 * RUNS)) runs of tidepool-render, $RUNS of sox and ecasound)"
echo
echo "| program | wall s | vs tidepool-render | peak RSS MiB |"
echo "|---|---:|---:|---:|"
for n in tidepool passthrough sox ecasound; do
	[ -f "$T/$n.times" ] || continue
	w=$(median "$T/$n.times" 1)
	m=$(median "$T/$n.times" 2)
	label=$n
	[ $n = tidepool ] && label="tidepool-render"
	[ $n = passthrough ] && label="tidepool-render, empty chain"
	awk -v l="$label" -v w="$w" -v t="$tp" -v m="$m" 'BEGIN {
	    printf "| %s | %.3f | %.2fx | %.1f |\n", l, w / 1e6, w / t, m / 1024 }'
done
m1=$(median "$T/tidepool1.times" 2)
m10=$(median "$T/tidepool.times" 2)
echo
awk -v a="$m1" -v b="$m10" 'BEGIN {
    printf "Peak RSS of tidepool-render: %.1f MiB for 1 minute, %.1f MiB for 10 minutes.\n", a / 1024, b / 1024 }'
awk -v s="$(median "$T/sox.times" 1)" -v t="$tp" \
    -v p="$(median "$T/passthrough.times" 1)" 'BEGIN {
    printf "tidepool-render is %.2fx faster than sox; the chain costs %.2fx its pass-through.\n", s / t, t / p }'
