#!/bin/sh
# A 32 x 32 mixer (issue 14): the config reference allows 32 channels,
# but a "matrix = ..." line stopped at 197 characters, about 9 columns.
# A key per row (row.0 ... row.31), each line up to 4096 characters, is
# how it is written now.  tidepool-render runs 32 channels of different
# sines through a permutation with one crossfeed and every output is the
# input the rows name; broken matrices are refused with file and line.
. tests/integration/lib.sh
R=$BIN/tidepool-render

# 32 channels, each its own sine: 100, 137, 174 ... Hz.
synth=
for c in $(seq 0 31); do
	synth="$synth sine $((100 + 37 * c))"
done
# shellcheck disable=SC2086
sox -n -r 48000 -c 32 -b 32 -e floating-point "$T/in.wav" synth 1 $synth \
    vol 0.5
check $? "32 channels of different sines made with sox"

# Output k takes input (7k + 3) mod 32; output 0 also half of input 31.
# Zeros written as 0.00000 make each row 255 characters.
python3 - "$T/mix.conf" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("[engine]\nperiod = 64\nchannels = 32\n\n[stage.mix]\ntype = mixer\n")
    for k in range(32):
        g = ["0.00000"] * 32
        g[(7 * k + 3) % 32] = "1.00000"
        if k == 0:
            g[31] = "0.50000"
        f.write("row.%d = %s\n" % (k, " ".join(g)))
PY
awk 'length > 197 { n++ } END { exit !(n == 32) }' "$T/mix.conf"
check $? "every row line is longer than the 197 characters of before"
expect "tidepool-render runs the 32 x 32 mixer" $R -q -c "$T/mix.conf" \
    "$T/in.wav" "$T/out.wav"

python3 - "$T/in.wav" "$T/out.wav" >"$T/mix.out" 2>&1 <<'PY'
import struct, subprocess, sys
def read(p):
    raw = subprocess.run(["sox", p, "-t", "f32", "-"], capture_output=True,
        check=True).stdout
    x = struct.unpack("<%df" % (len(raw) // 4), raw)
    return [x[c::32] for c in range(32)]
a, b = read(sys.argv[1]), read(sys.argv[2])
# The channels really differ: a wrong route could not pass unseen.
same = sum(1 for i in range(32) for j in range(i) if a[i] == a[j])
worst = 0.0
for k in range(32):
    want = [v + (0.5 * w if k == 0 else 0) for v, w in
            zip(a[(7 * k + 3) % 32], a[31])]
    worst = max(worst, max(abs(p - q) for p, q in zip(b[k], want)))
print("frames %d, identical input pairs %d, largest error %.3g" % (
    len(b[0]), same, worst))
print("result %d %d %.9f" % (len(b[0]), same, worst))
PY
sed 's/^/# /' "$T/mix.out"
awk '$1 == "result" { exit !($2 == 48000 && $3 == 0 && $4 < 1e-6) }' \
    "$T/mix.out"
check $? "each of the 32 outputs is the input its row names (crossfeed to 1e-6)"

# bad_mix WHAT LINE_EDIT WANT: the good config edited by sed is refused.
bad_mix() {
	sed "$2" "$T/mix.conf" >"$T/bad.conf"
	$R --check -c "$T/bad.conf" >"$T/bad.out" 2>&1
	rc=$?
	[ $rc -ne 0 ] && grep -q -- "$3" "$T/bad.out"
	check $? "$1: exit $rc, says '$3'"
	[ $rc -ne 0 ] && grep -q -- "$3" "$T/bad.out" ||
	    sed 's/^/# /' "$T/bad.out"
}
bad_mix "a ragged row" 's/^row\.5 = 0\.00000 /row.5 = /' \
    "bad.conf:12: stage.mix: row.5 = .*has 31 gains; the stage gets 32"
bad_mix "a 33rd column" 's/^\(row\.9 = .*\)$/\1 0/' \
    "bad.conf:16: stage.mix: row.9 = .*has 33 gains"
bad_mix "a missing row" '/^row\.7 = /d' \
    "bad.conf:5: stage.mix: row.7 is missing (row.31 is at line 37)"
bad_mix "NaN" 's/^row\.3 = 0\.00000 /row.3 = nan /' \
    "bad.conf:10: stage.mix: row.3 = nan .*'nan': each gain must be between"
bad_mix "an infinite gain" 's/^row\.3 = 0\.00000 /row.3 = inf /' \
    "bad.conf:10: .*'inf': each gain must be between"
bad_mix "a huge gain" 's/^row\.3 = 0\.00000 /row.3 = 1e300 /' \
    "bad.conf:10: .*'1e300': each gain must be between"
bad_mix "an empty row" 's/^row\.4 = .*$/row.4 =/' \
    "bad.conf:11: stage.mix: row.4: no value"
bad_mix "a row past 31" 's/^row\.4 = /row.32 = /' \
    "bad.conf:11: stage.mix: row.32 = .*N from 0 to 31"
finish
