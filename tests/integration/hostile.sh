#!/bin/sh
# Hostile and odd files for play: a header's claims are checked before any
# buffer is sized from them (an 88-byte WAV claiming 1 Hz once took 6.6 s,
# 700 MB and 4,301 starved callbacks), and a file with more channels than
# the engine follows the one rule sfin.h gives: 5.1 is downmixed by ITU-R
# BS.775, any other count is refused with both counts named, never cut.
. tests/integration/lib.sh

cat >"$T/a.conf" <<CONF
[engine]
rate = 48000
period = 64
channels = 2
input = none

[control]
socket = $T/control.sock

[files]
recordings = $T
CONF

# The 88-byte WAV: 16-bit stereo at 1 Hz, 44 bytes of "audio".
python3 - "$T/onehz.wav" <<'PY'
import struct, sys
data = bytes(44)
fmt = struct.pack("<HHIIHH", 1, 2, 1, 4, 4, 16)
riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + \
    b"data" + struct.pack("<I", len(data)) + data
open(sys.argv[1], "wb").write(b"RIFF" + struct.pack("<I", len(riff)) + riff)
PY
# 5.1 files, 2 s, one channel sounding at -10 dBFS peak: the centre at
# 1000 Hz, the left surround at 1500 Hz, the LFE at 1000 Hz.
sox -n -r 48000 -c 1 -b 24 "$T/s.wav" trim 0 2
sox -n -r 48000 -c 1 -b 24 "$T/t1.wav" synth 2 sine 1000 gain -10
sox -n -r 48000 -c 1 -b 24 "$T/t2.wav" synth 2 sine 1500 gain -10
sox -M "$T/s.wav" "$T/s.wav" "$T/t1.wav" "$T/s.wav" "$T/s.wav" "$T/s.wav" "$T/centre.wav"
sox -M "$T/s.wav" "$T/s.wav" "$T/s.wav" "$T/s.wav" "$T/t2.wav" "$T/s.wav" "$T/surround.wav"
sox -M "$T/s.wav" "$T/s.wav" "$T/s.wav" "$T/t1.wav" "$T/s.wav" "$T/s.wav" "$T/lfe.wav"
sox -M "$T/t1.wav" "$T/t2.wav" "$T/t1.wav" "$T/t2.wav" "$T/four.wav"

start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 10 state_is running
check $? "it runs"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
r0=$(rss)
t0=$(date +%s%N)
e=$(ctl play onehz.wav 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
r1=$(rss)
echo "# $e"
[ $rc -ne 0 ] && case $e in *"1 Hz"*) true ;; *) false ;; esac
check $? "the 1 Hz WAV is refused, the rate named ($ms ms)"
[ $((r1 - r0)) -lt 20000 ]
check $? "and the daemon's memory did not grow with it ($r0 kB, then $r1 kB)"
expect "the daemon still answers" ctl status

e=$(ctl play four.wav 2>&1)
rc=$?
echo "# $e"
[ $rc -ne 0 ] && case $e in *"4 channels, the engine 2"*) true ;; *) false ;; esac
check $? "a 4-channel file into 2 channels is refused with both counts"

# play_recorded NAME: plays NAME once while recording it; tonefind's
# lines for FREQ in $T/NAME.out.
play_recorded() {
	rm -f "$T/rec-$1"
	ctl record "rec-$1" >/dev/null &&
	    ctl --json play --once "$1" >"$T/$1.json" &&
	    wait_for 30 source_is none &&
	    ctl record stop >/dev/null &&
	    python3 tests/integration/tonefind.py "$T/rec-$1" "$2" >"$T/$1.out"
	sed 's/^/# /' "$T/$1.out"
}

# peak FILE.out CHANNEL: the tone's peak in dBFS on that channel, or none.
peak() {
	sed -n "s/^channel $2: .*Hz, \(.*\) dBFS$/\1/p" "$1"
}

play_recorded centre.wav 1000
json_get "$(cat "$T/centre.wav.json")" channel_map | grep -q "ITU-R BS.775"
check $? "play says how the 5.1 file is mixed: $(json_get "$(cat "$T/centre.wav.json")" channel_map)"
l=$(peak "$T/centre.wav.out" 0)
r=$(peak "$T/centre.wav.out" 1)
awk -v l="$l" -v r="$r" 'BEGIN { exit !(l > -13.2 && l < -12.8 && r > -13.2 && r < -12.8) }'
check $? "5.1 centre at -10 dBFS: on both sides at -13 dBFS (0.7071): $l, $r"

play_recorded surround.wav 1500
l=$(peak "$T/surround.wav.out" 0)
r=$(peak "$T/surround.wav.out" 1)
awk -v l="$l" 'BEGIN { exit !(l > -13.2 && l < -12.8) }' && [ -z "$r" ]
check $? "5.1 left surround: on the left only, at -13 dBFS: '$l', right '$r'"

play_recorded lfe.wav 1000
[ -z "$(peak "$T/lfe.wav.out" 0)" ] && [ -z "$(peak "$T/lfe.wav.out" 1)" ]
check $? "5.1 LFE is left out, as BS.775 does (and as play's reply says)"

# The lowest rate a file may have: resampled 48 times up, through buffers
# sized by the engine's blocks, not by the ratio.
sox -n -r 1000 -c 1 "$T/low.wav" synth 2 sine 100 gain -10
r0=$(rss)
play_recorded low.wav 100
r1=$(rss)
grep -Eq "^channel 1: .* (1\.99[89].|2\.000.) s, 100\.00 Hz" "$T/low.wav.out"
check $? "a 1000 Hz file plays whole, resampled to 48 kHz"
[ $((r1 - r0)) -lt 20000 ]
check $? "without growing the daemon's memory ($r0 kB, then $r1 kB)"

stop_daemon
check $? "tidepoold stops cleanly"
finish
