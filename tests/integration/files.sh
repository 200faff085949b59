#!/bin/sh
# Confined paths ([files]): a client's play and record stay beneath the
# configured directories whatever it names: no symbolic link, no "..", no
# absolute path leads out, and the answer for a path outside is the same
# whether the file there exists or not.  Relative paths resolve in the
# directories; record makes a new file (mode from the umask) unless told
# --overwrite, and never replaces the file being played.
. tests/integration/lib.sh

mkdir -p "$T/rec/sub" "$T/lib" "$T/out"
cat >"$T/a.conf" <<CONF
[engine]
rate = 48000
period = 64
channels = 2
input = tone:440
tone_level = -20

[control]
socket = $T/control.sock

[files]
recordings = $T/rec
play = $T/lib

[stage.vol]
type = gain
CONF
sox -n -r 48000 -c 2 "$T/lib/tone.wav" synth 0.5 sine 1000 gain -15
cp "$T/lib/tone.wav" "$T/out/secret.wav"
echo "root only" >"$T/out/victim"
chmod 600 "$T/out/victim"
victim_sum=$(md5sum <"$T/out/victim")

# err CMD...: the daemon's error for a request, with the path it names
# taken out, so that two answers can be compared.
err() {
	ctl "$@" 2>&1 >/dev/null | sed "s|$T|T|g"
}

# record_for N NAME...: records N callbacks' worth of audio to NAME.
record_for() {
	n=$1; shift
	ctl record "$@" >/dev/null || return 1
	audio_passes "$n" || return 1
	ctl record stop >/dev/null
}

start_jack 64
check $? "a private JACK dummy server starts"
# 027: a mode neither libsndfile's nor mkstemp's default would give.
(umask 027; exec "$BIN/tidepoold" -c "$T/a.conf" >"$T/daemon.log" 2>&1) &
DAEMON_PID=$!
wait_for 10 ctl status
check $? "tidepoold starts with [files] recordings and play"
wait_for 10 state_is running
check $? "it runs"

# ---- record: where files go ------------------------------------------------
expect "record a relative name" record_for 200 take1.wav
[ -f "$T/rec/take1.wav" ] && [ "$(decoded_frames "$T/rec/take1.wav")" -gt 0 ]
check $? "it lands in the recordings directory and decodes ($(decoded_frames "$T/rec/take1.wav" 2>/dev/null) frames)"
m=$(stat -c %a "$T/rec/take1.wav")
[ "$m" = 640 ]
check $? "its mode follows the daemon's umask 027: $m"
expect "record an absolute name inside" record_for 100 "$T/rec/sub/take2.wav"
[ -f "$T/rec/sub/take2.wav" ]
check $? "it is there"

sum=$(md5sum <"$T/rec/take1.wav")
e=$(err record take1.wav)
echo "# $e"
case $e in *exists*--overwrite*) true ;; *) false ;; esac
check $? "record refuses an existing file and says how to replace it"
[ "$(md5sum <"$T/rec/take1.wav")" = "$sum" ]
check $? "and leaves it as it was"
expect "record --overwrite replaces it" record_for 100 --overwrite take1.wav
[ "$(md5sum <"$T/rec/take1.wav")" != "$sum" ] &&
    [ "$(decoded_frames "$T/rec/take1.wav")" -gt 0 ]
check $? "the new recording is there and decodes"

# ---- record: nothing leads out -----------------------------------------------
ln -s "$T/out/victim" "$T/rec/link.wav"
ln -s ../out "$T/rec/outdir"
for name in link.wav "--overwrite link.wav" ../out/new.wav \
    sub/../../out/new.wav "$T/out/new.wav" outdir/new.wav \
    "--overwrite outdir/victim" "--overwrite $T/rec/../out/victim"; do
	# shellcheck disable=SC2086 # the option is a word of its own
	e=$(err record $name)
	[ -n "$e" ] &&
	    [ "$(json_get "$(ctl --json status)" recording)" = None ]
	check $? "record $name is refused: $e"
done
[ "$(md5sum <"$T/out/victim")" = "$victim_sum" ] && [ ! -e "$T/out/new.wav" ]
check $? "the file outside is untouched and nothing was created there"
# A FIFO made there is a pipe to its reader (sox-style): nothing replaced.
mkfifo "$T/rec/fifo.wav"
cat "$T/rec/fifo.wav" >"$T/piped.wav" &
R=$!
expect "record into a FIFO in the directory writes to its reader" \
    ctl record fifo.wav
audio_passes 200
expect "and record stop ends it" ctl record stop
wait_for 10 sh -c "! kill -0 $R 2>/dev/null"
# A reader nobody ever wrote to waits in its open: a writer's open and
# close let it go (with nothing read), so the test fails instead of hanging.
kill -0 $R 2>/dev/null && : >"$T/rec/fifo.wav"
wait $R
n=$(decoded_frames "$T/piped.wav")
[ "${n:-0}" -gt 0 ]
check $? "the reader got a valid file ($n frames)"
ln "$T/rec/sub/take2.wav" "$T/rec/hard.wav"
e=$(err record --overwrite hard.wav)
case $e in *"hard link"*) true ;; *) false ;; esac
check $? "record --overwrite of a file with another name is refused: $e"

# ---- play: where files come from -------------------------------------------
expect "play a relative name from a play directory" ctl play --once tone.wav
wait_for 10 source_is tone
expect "play a relative name from the recordings" ctl play take1.wav
e=$(err record --overwrite take1.wav)
case $e in *"being played"*) true ;; *) false ;; esac
check $? "record --overwrite of the file being played is refused: $e"
e=$(err record --overwrite "$T/rec/sub/../take1.wav")
case $e in *"being played"*) true ;; *) false ;; esac
check $? "under another spelling too: $e"
expect "stop" ctl stop

# The answer for a file outside never says whether it exists.
ln -s "$T/out/secret.wav" "$T/lib/in.wav"
ln -s "$T/out/missing.wav" "$T/lib/in-missing.wav"
for pair in "$T/out/secret.wav|$T/out/missing.wav" \
    "../out/secret.wav|../out/missing.wav" \
    "$T/lib/../out/secret.wav|$T/lib/../out/missing.wav" \
    "in.wav|in-missing.wav"; do
	a=${pair%|*}
	b=${pair#*|}
	ea=$(err play "$a" | sed "s|secret|X|; s|in\.wav|X|")
	eb=$(err play "$b" | sed "s|missing|X|; s|in-X\.wav|X|")
	[ -n "$ea" ] && [ "$ea" = "$eb" ]
	check $? "play $a and play $b get the same refusal: $ea"
done
e=$(err play nosuch.wav)
case $e in *"no such file"*) true ;; *) false ;; esac
check $? "a missing file inside is said to be missing: $e"

stop_daemon
check $? "tidepoold stops cleanly"
finish
