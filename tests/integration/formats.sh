#!/bin/sh
# Recordings that survive, format by format.  Every container libsndfile
# writes gives a valid file after "record stop"; WAV, FLAC, Ogg Vorbis and
# Opus also after SIGTERM, decoded by tools other than libsndfile (sox,
# opusdec, flac) and, for FLAC, sample for sample against a WAV recorded
# the same way.  After SIGKILL each format keeps what the README's table
# says it keeps ("What a recording keeps if the daemon is killed").
. tests/integration/lib.sh

cat >"$T/a.conf" <<CONF
[engine]
rate = 48000
period = 64
channels = 2
input = tone:1000
tone_level = -20

[control]
socket = $T/control.sock

[files]
recordings = $T
CONF

# frames FILE: the frames FILE decodes to, by sox (opusdec for Opus,
# libsndfile through tidepool-render for what sox cannot read, or reads
# through libsndfile but rescales: float CAF, W64 and MAT come out of sox
# at full scale); empty if it does not decode.
frames() {
	case $1 in
	*.opus)
		opusdec --quiet "$1" "$1.dec.wav" 2>/dev/null &&
		    soxi -s "$1.dec.wav" ;;
	*.rf64|*.mpc|*.caf|*.w64|*.mat)
		"$BIN/tidepool-render" -q "$1" "$1.dec.wav" 2>/dev/null &&
		    decoded_frames "$1.dec.wav" ;;
	*)
		n=$(decoded_frames "$1") && [ "$n" -gt 0 ] && echo "$n" ;;
	esac
}

# level FILE: the decoded RMS level in dBFS (the tone is -23 dBFS RMS).
level() {
	case $1 in
	*.opus|*.rf64|*.mpc|*.caf|*.w64|*.mat) rms_db "$1.dec.wav" ;;
	*) rms_db "$1" ;;
	esac
}

# record_n NAME N: records N callbacks to NAME and stops; prints the
# frames record stop reported.
record_n() {
	ctl record "$1" >/dev/null || return 1
	audio_passes "$2" || return 1
	json_get "$(ctl --json record stop)" frames
}

start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 10 state_is running
check $? "it runs"

# ---- after record stop: every container libsndfile writes -----------------
# 750 callbacks: 1 s.  Lossy codecs may pad or trim a frame or two of
# their own; PCM containers hold exactly what was reported.
for ext in wav flac ogg opus mp3 aiff au caf w64 rf64 sf voc paf avr mat \
    mpc pvf; do
	said=$(record_n "stop.$ext" 750)
	got=$(frames "$T/stop.$ext")
	lvl=$(level "$T/stop.$ext" 2>/dev/null)
	case $ext in
	ogg|opus|mp3) slack=4000 ;;
	paf) slack=32 ;;	# 24-bit PAF is stored in blocks of 10 frames
	*) slack=0 ;;
	esac
	[ -n "$said" ] && [ -n "$got" ] && [ "$got" -gt 0 ] &&
	    [ $((got - said)) -le "$slack" ] && [ $((said - got)) -le "$slack" ] &&
	    awk -v x="$lvl" 'BEGIN { exit !(x > -24.5 && x < -21.5) }'
	check $? "$ext after record stop: $got frames decode of $said recorded, $lvl dBFS RMS"
done

# Containers libsndfile has that cannot hold this (2 channels at 48 kHz):
# refused before any file is made.
for ext in htk sds xi wve iff; do
	e=$(ctl record "no.$ext" 2>&1)
	[ $? -ne 0 ] && [ ! -e "$T/no.$ext" ]
	check $? "$ext is refused and no file is left: $e"
done

# The Vorbis stream once held the codec's header again after every block:
# 140 copies of it and no audio.  A sound file has exactly one.
[ "$(grep -ao "$(printf '\001vorbis')" "$T/stop.ogg" | wc -l)" -eq 1 ]
check $? "the Ogg Vorbis recording has one identification header"

# FLAC: libFLAC's own check (its MD5 of the audio), and the samples the
# same tone as the WAV's (32-bit float), to 24 bits.
expect "flac -t verifies the FLAC recording" flac -t -s "$T/stop.flac"
# The two recordings start at different phases of the tone: compared by
# their peaks, and the FLAC's samples must lie on the 24-bit grid.
python3 - "$T/stop.flac" "$T/stop.wav" <<'PY'
import subprocess, sys, struct, math
def pcm(path):
    raw = subprocess.run(["sox", path, "-t", "f32", "-"], check=True,
                         stdout=subprocess.PIPE).stdout
    return struct.unpack("<%df" % (len(raw) // 4), raw)
f, w = pcm(sys.argv[1]), pcm(sys.argv[2])
# Every FLAC sample is a 24-bit step; the tone is the WAV's, to 24 bits.
steps = max(abs(x * 8388608 - round(x * 8388608)) for x in f)
assert steps < 1e-3, steps
peak_f = max(abs(x) for x in f[9600:])
peak_w = max(abs(x) for x in w[9600:])
assert abs(20 * math.log10(peak_f / peak_w)) < 0.01, (peak_f, peak_w)
print("ok: 24-bit samples, peak %.6f (WAV %.6f)" % (peak_f, peak_w))
PY
check $? "the FLAC recording holds the tone's samples to 24 bits"

# ---- after SIGTERM ---------------------------------------------------------
for ext in wav flac ogg opus; do
	if [ -z "$DAEMON_PID" ]; then
		start_daemon "$T/a.conf" && wait_for 10 state_is running
	fi
	ctl record "term.$ext" >/dev/null && audio_passes 750
	stop_daemon
	check $? "$ext: SIGTERM while recording stops the daemon cleanly"
	got=$(frames "$T/term.$ext")
	[ -n "$got" ] && [ "$got" -ge 40000 ]
	check $? "$ext after SIGTERM: $got frames decode"
done
expect "flac -t verifies the FLAC cut by SIGTERM" flac -t -s "$T/term.flac"

# ---- after SIGKILL ---------------------------------------------------------
# What the README promises: every format decodes up to about the last
# block written (Ogg and MP3: the last page or frame the encoder let
# out); FLAC's header says "length unknown" and flac decodes it.  4 s
# each: Vorbis lets a page of a steady tone out every few seconds.
for ext in wav aiff caf w64 au ogg opus mp3 flac; do
	start_daemon "$T/a.conf" && wait_for 10 state_is running
	ctl record "kill.$ext" >/dev/null && audio_passes 3000
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	case $ext in
	flac) flac -d -s -F -o "$T/kill.flac.dec.wav" "$T/kill.flac" \
	    2>/dev/null; got=$(decoded_frames "$T/kill.flac.dec.wav") ;;
	*) got=$(frames "$T/kill.$ext") ;;
	esac
	[ -n "$got" ] && [ "$got" -ge 96000 ]
	check $? "$ext after SIGKILL: $got frames decode"
done
echo "# soxi on the FLAC cut by SIGKILL: $(soxi -s "$T/kill.flac" 2>&1) samples"

finish
