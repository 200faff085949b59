#!/bin/sh
# The convolver offline: tidepool-render against BruteFIR (file mode,
# float_bits 32, filter_length 65536,1 and 4096,16) and fconvolver
# (zita-convolver's file tool, partition 8192), a 65,536-tap IR on both
# channels of SECONDS (600 unless told) of 48 kHz stereo pink noise with a
# different signal per channel; tidepool-render three times: as it runs
# (uniform partitions of 8,192, their latency removed, half the channels
# on its helper thread), the same all in one thread, and with the
# daemon's zero-latency partitions (--live-partitions).  Medians of RUNS rounds, interleaved; wall
# time, CPU time (user + sys, children included) and peak RSS.  The issue's
# target: tidepool-render at most 0.8x the best of BruteFIR and fconvolver.
RUNS=${RUNS:-3}
SECONDS_=${SECONDS:-600}
BIN=${BIN:-build/release}
T=$(mktemp -d /tmp/tidepool-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
for p in brutefir fconvolver; do
	command -v $p >/dev/null || { echo "convolver bench: no $p (make deps-bench)"; exit 0; }
done

REF=tests/integration/convref.py
/usr/bin/python3 -W ignore $REF noise "$T/in.wav" 48000 2 "$SECONDS_"
/usr/bin/python3 -W ignore $REF ir "$T/ir.wav" 48000 65536 1 3
/usr/bin/python3 - "$T" <<'PY'
import sys
from scipy.io import wavfile
t = sys.argv[1]
wavfile.read(t + "/in.wav")[1].astype("<f4").tofile(t + "/in.raw")
wavfile.read(t + "/ir.wav")[1].astype("<f4").tofile(t + "/ir.raw")
PY
printf '[engine]\nperiod = 256\n[stage.room]\ntype = convolver\nfile = %s/ir.wav\n' "$T" >"$T/tp.conf"
bf_conf() {	# bf_conf LENGTH,PARTS
	cat <<CONF
modules_path: "/usr/lib/brutefir";
convolver_config: "$T/bfwisdom";
float_bits: 32;
sampling_rate: 48000;
filter_length: $1;
overflow_warnings: false;
show_progress: false;
lock_memory: false;
powersave: false;
coeff "c" { filename: "$T/ir.raw"; format: "FLOAT_LE"; };
input "l", "r" { device: "file" { path: "$T/in.raw"; }; sample: "FLOAT_LE"; channels: 2; };
output "ol", "or" { device: "file" { path: "$T/out.raw"; }; sample: "FLOAT_LE"; channels: 2; };
filter "fl" { from_inputs: "l"; to_outputs: "ol"; coeff: "c"; };
filter "fr" { from_inputs: "r"; to_outputs: "or"; coeff: "c"; };
CONF
}
bf_conf 65536,1 >"$T/bf1.conf"
bf_conf 4096,16 >"$T/bf16.conf"
cat >"$T/fc.conf" <<CONF
/convolver/new 2 2 8192 65536
/impulse/read 1 1 1 0 0 0 1 $T/ir.wav
/impulse/read 2 2 1 0 0 0 1 $T/ir.wav
CONF
# BruteFIR writes an empty ~/.brutefir_config when there is none: a HOME
# of our own keeps the user's untouched.
export HOME="$T"
# FFTW wisdom: BruteFIR's first run makes it; not timed.
brutefir -nodefault "$T/bf1.conf" >/dev/null 2>&1
brutefir -nodefault "$T/bf16.conf" >/dev/null 2>&1

# run NAME COMMAND...: wall us, CPU s (user+sys, children), peak KiB
run() {
	name=$1; shift
	t0=$(date +%s%N)
	/usr/bin/time -f "%U %S %M" -o "$T/t" "$@" >/dev/null 2>&1 ||
	    echo "# $name failed" >&2
	t1=$(date +%s%N)
	awk -v w=$(( (t1 - t0) / 1000 )) '{ print w, $1 + $2, $3 }' "$T/t" \
	    >>"$T/$name.times"
}
median() {
	sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END {
	    if (NR % 2) print v[(NR + 1) / 2]
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
i=0
while [ $i -lt "$RUNS" ]; do
	run tidepool $BIN/tidepool-render -q -c "$T/tp.conf" "$T/in.wav" "$T/out.wav"
	TIDEPOOL_RENDER_INLINE=1 run tpinline $BIN/tidepool-render -q -c "$T/tp.conf" "$T/in.wav" "$T/out.wav"
	run tplive $BIN/tidepool-render -q --live-partitions -c "$T/tp.conf" "$T/in.wav" "$T/out.wav"
	run bf1 brutefir -nodefault "$T/bf1.conf"
	run bf16 brutefir -nodefault "$T/bf16.conf"
	run fc fconvolver "$T/fc.conf" "$T/in.wav" "$T/fc.wav"
	i=$((i + 1))
done
tp=$(median "$T/tidepool.times" 1)
echo "### Convolver offline, 65,536 taps on both channels of $SECONDS_ s of 48 kHz stereo float (medians of $RUNS)"
echo
echo "| program | wall s | CPU s | wall vs tidepool-render | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
for n in tidepool tpinline tplive bf1 bf16 fc; do
	case $n in
	tidepool) l="tidepool-render (8 partitions of 8192, latency removed)" ;;
	tpinline) l="the same, in one thread (TIDEPOOL_RENDER_INLINE=1)" ;;
	tplive) l="tidepool-render --live-partitions (period 256, zero latency)" ;;
	bf1) l="BruteFIR 65536,1 (latency 65536)" ;;
	bf16) l="BruteFIR 4096,16 (latency 4096)" ;;
	fc) l="fconvolver, partition 8192" ;;
	esac
	awk -v l="$l" -v w="$(median "$T/$n.times" 1)" -v c="$(median "$T/$n.times" 2)" \
	    -v m="$(median "$T/$n.times" 3)" -v t="$tp" 'BEGIN {
	    printf "| %s | %.2f | %.2f | %.2fx | %.1f |\n", l, w / 1e6, c, t / w, m / 1024 }'
done
echo
echo "(BruteFIR's CPU time misses its filter processes, which time(1) does not wait for.)"
