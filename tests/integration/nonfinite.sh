#!/bin/sh
# No NaN or infinity gets through the chain (issue 14).  One NaN sample in
# a played float WAV used to make every biquad after it output NaN
# forever, and the meter counted every one of them as clipped.  Offline:
# the render of a file with NaN and Inf in it is, bit for bit, the render
# of the same file with zeros in their place, and a stage that makes an
# infinity (+24 dB on 3e38) hands on 0.  Live: the recording of such a
# file played through a highpass holds no NaN, the meter counts no clip,
# and stats count the samples replaced.  BIN=build/rtsan runs the same
# under RealtimeSanitizer (the check is in the callback).
. tests/integration/lib.sh
R=$BIN/tidepool-render

# wavtool make OUT BAD: 2 s of 48 kHz stereo float noise at -20 dBFS RMS,
# different on each channel; BAD=nan puts NaN at frame 2000 (left), +Inf
# at 3000 (right) and -Inf at 3001 (left); BAD=zero puts 0 there; BAD=huge
# puts 3e38 at frame 2000 (left).  wavtool count FILE prints the samples
# that are not finite, then the largest |x| of the rest.
wavtool() {
	python3 - "$@" <<'PY'
import array, math, random, struct, sys

def write(path, samples, ch=2, rate=48000):
    data = samples.tobytes()
    fmt = struct.pack("<HHIIHH", 3, ch, rate, rate * ch * 4, ch * 4, 32)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) +
                b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt +
                b"data" + struct.pack("<I", len(data)) + data)

def read(path):
    f = open(path, "rb")
    assert f.read(12)[8:] == b"WAVE"
    fmt = None
    while True:
        head = f.read(8)
        tag, size = struct.unpack("<4sI", head)
        body = f.read(size + (size & 1))
        if tag == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif tag == b"data":
            assert fmt[5] == 32, "not 32-bit float"
            a = array.array("f")
            a.frombytes(body[:size])
            return a

if sys.argv[1] == "make":
    rnd = random.Random(14)
    a = array.array("f", (rnd.gauss(0, 0.1) for _ in range(2 * 96000)))
    bad = sys.argv[3]
    if bad == "nan":
        a[2 * 2000] = math.nan
        a[2 * 3000 + 1] = math.inf
        a[2 * 3001] = -math.inf
    elif bad == "zero":
        a[2 * 2000] = a[2 * 3000 + 1] = a[2 * 3001] = 0.0
    elif bad == "huge":
        a[2 * 2000] = 3e38
    write(sys.argv[2], a)
else:
    a = read(sys.argv[2])
    bad = sum(1 for x in a if not math.isfinite(x))
    print(bad, max((abs(x) for x in a if math.isfinite(x)), default=0))
PY
}

wavtool make "$T/nan.wav" nan && wavtool make "$T/zero.wav" zero &&
    wavtool make "$T/huge.wav" huge
check $? "test files: float WAVs with NaN and Inf, with zeros, with 3e38"

cat >"$T/hp.conf" <<'CONF'
[stage.hp]
type = highpass
freq = 80
q = 0.707
CONF
$R -q -c "$T/hp.conf" -b 64 "$T/nan.wav" "$T/nan64.wav" &&
    $R -q -c "$T/hp.conf" -b 4096 "$T/nan.wav" "$T/nan4096.wav" &&
    $R -q -c "$T/hp.conf" "$T/zero.wav" "$T/zero-out.wav"
check $? "renders the file with NaN and Inf, and the one with zeros"
set -- $(wavtool count "$T/nan64.wav")
echo "# render of the NaN file: $1 non-finite samples, largest |x| $2"
[ "$1" = 0 ]
check $? "the render holds no NaN or infinity ($1)"
expect "it is the render of the file with zeros in their place, bit for bit" \
    cmp "$T/nan64.wav" "$T/zero-out.wav"
expect "with -b 64 and -b 4096 alike" cmp "$T/nan64.wav" "$T/nan4096.wav"

cat >"$T/boost.conf" <<'CONF'
[stage.boost]
type = gain
gain = 24

[stage.hp]
type = highpass
freq = 80
q = 0.707
CONF
expect "renders 3e38 through +24 dB and a highpass" \
    $R -q -c "$T/boost.conf" "$T/huge.wav" "$T/huge-out.wav"
set -- $(wavtool count "$T/huge-out.wav")
echo "# 3e38 through +24 dB: $1 non-finite samples, largest |x| $2"
[ "$1" = 0 ] && awk -v x="$2" 'BEGIN { exit !(x < 100) }'
check $? "the infinity the gain made is 0 at the highpass: none out, largest |x| $2"

# Live: the file played through a highpass, recorded.
start_jack 64
check $? "a private JACK dummy server starts"
tone_config "$T/live.conf" "[stage.hp]
type = highpass
freq = 80
q = 0.707"
start_daemon "$T/live.conf"
check $? "tidepoold starts"
wait_for 10 state_is running
check $? "it runs"
expect "record" ctl record "$T/rec.wav"
expect "stats reset" ctl stats reset
expect "play --once the file with NaN and Inf" ctl play --once "$T/nan.wav"
wait_for 10 source_is file
wait_for 60 source_is tone
check $? "the file plays to its end and the tone comes back"
audio_passes 750		# 1 s of the tone after it
expect "record stop" ctl record stop
set -- $(wavtool count "$T/rec.wav")
echo "# recording: $1 non-finite samples, largest |x| $2"
[ "$1" = 0 ]
check $? "the recording holds no NaN or infinity ($1)"
st=$(ctl --json stats)
nf=$(json_get "$st" meters.nonfinite)
cl0=$(json_get "$st" meters.clipped.0)
cl1=$(json_get "$st" meters.clipped.1)
echo "# stats: nonfinite $nf, clipped $cl0 $cl1"
[ "$nf" = 3 ]
check $? "stats count the 3 samples replaced ($nf)"
[ "$cl0" = 0 ] && [ "$cl1" = 0 ]
check $? "the meter counts no clipped sample ($cl0, $cl1)"
ctl metrics | grep -q '^tidepool_nonfinite_samples_total 3$'
check $? "metrics: tidepool_nonfinite_samples_total 3"
ctl stats | grep -q 'non-finite samples replaced by 0: 3'
check $? "tidepoolctl stats shows them"
stop_daemon
check $? "tidepoold stops cleanly"
no_sanitizer_report "$T/daemon.log"
finish
