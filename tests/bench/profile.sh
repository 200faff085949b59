#!/bin/sh
# make profile: a long render under gperftools' CPU profiler, then the
# hottest functions, so the next optimisation is picked from data.
# MINUTES sets the length of the generated file (default 10).
MINUTES=${MINUTES:-10}
BIN=${BIN:-build/release}
T=$(mktemp -d /tmp/tidepool-profile.XXXXXX)
trap 'rm -rf "$T"' EXIT
lib=$(ls /usr/lib/*/libprofiler.so 2>/dev/null | head -n 1)
if [ -z "$lib" ] || ! command -v google-pprof >/dev/null 2>&1; then
	echo "make profile: needs libgoogle-perftools-dev and google-perftools" >&2
	exit 1
fi
sox -R -n -r 48000 -c 2 -e floating-point -b 32 "$T/in.wav" \
    synth $((MINUTES * 60)) pinknoise gain -10 2>/dev/null
cat >"$T/chain.conf" <<'CONF'
[stage.vol]
type = gain
gain = -3
[stage.hp]
type = highpass
freq = 80
[stage.lp]
type = lowpass
freq = 16000
[stage.limit]
type = limiter
CONF
echo "profiling: $MINUTES min of 48 kHz stereo through gain, highpass, lowpass, limiter"
LD_PRELOAD=$lib CPUPROFILE="$T/cpu.prof" CPUPROFILE_FREQUENCY=1000 \
    $BIN/tidepool-render -c "$T/chain.conf" "$T/in.wav" "$T/out.wav"
google-pprof --text "$BIN/tidepool-render" "$T/cpu.prof" 2>/dev/null |
    head -n 25
