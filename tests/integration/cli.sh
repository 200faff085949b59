#!/bin/sh
# What the README promises and no other test reaches, on a private JACK
# dummy server: tidepoold --list-devices; a configured file input, looping
# and with loop = no, each channel its own tone (a swap would show), and
# one that is not there yet (shown, then played once it appears); device
# input fed by another JACK client; an [engine] change on reload, which
# waits for a restart; a recording that is a valid file while it is still
# being written; tidepoolctl's $TIDEPOOL_SOCKET, -t and stats --watch;
# SIGINT, a clean stop like SIGTERM.
. tests/integration/lib.sh

# file_config FILE INPUT LOOP: 48 kHz, 64 frames, stereo, no stages.
file_config() {
	cat >"$1" <<CONF
[engine]
rate = 48000
period = 64
channels = 2
input = $2
loop = $3

[control]
socket = $T/control.sock

[files]
recordings = $T
CONF
}

# start_running CONFIG WHAT: starts the daemon and waits until it runs.
start_running() {
	start_daemon "$1"
	check $? "tidepoold starts with $2"
	wait_for 10 state_is running
	check $? "it runs, source $(json_get "$(ctl --json status)" source)"
}

# tones FILE: what tonefind.py finds of 1000 Hz and 1500 Hz, one line
# per channel and frequency: "FREQ C START LENGTH".
tones() {
	for f in 1000 1500; do
		python3 tests/integration/tonefind.py "$1" $f |
		    sed -n "s/^channel \([0-9]\): \([0-9.]*\) s, \([0-9.]*\) s.*/$f \1 \2 \3/p"
	done
}

start_jack 64
check $? "a private JACK dummy server starts"
"$BIN/tidepoold" --list-devices >"$T/devices.out" 2>&1
check $? "tidepoold --list-devices exits 0"
grep -q "system .*JACK" "$T/devices.out"
check $? "and lists the JACK server's device"
grep "system" "$T/devices.out" | sed 's/^/# /'

# ---- input = file:, loop = no --------------------------------------------
# Channel 0 sounds 1000 Hz, channel 1 1500 Hz: 4 s of it to play once,
# and 0.5 s of it to loop.
sox -R -n -r 48000 -c 2 "$T/long.wav" synth 4 sine 1000 sine 1500 \
    gain -6 2>/dev/null
sox -R -n -r 48000 -c 2 "$T/one.wav" synth 0.5 sine 1000 sine 1500 \
    gain -6 2>/dev/null
file_config "$T/once.conf" "file:$T/long.wav" no
start_daemon "$T/once.conf"
check $? "tidepoold starts with input = file: and loop = no"
expect "status names the file as the source" source_is "file $T/long.wav"
# The file may have begun before the recording: its end is what is looked
# for, then a second of nothing (no loop).  5 s of audio, counted in
# callbacks, is past its end whenever it began.
expect "record" ctl record "$T/once.wav"
audio_passes 3750
check $? "five seconds of audio pass"
expect "record stop" ctl record stop
tones "$T/once.wav" >"$T/once.tones"
sed 's/^/# /' "$T/once.tones"
len=$(soxi -D "$T/once.wav" 2>/dev/null)
awk -v len="$len" '
$1 == 1000 && $2 == 0 { a = $4; end = $3 + $4 } $1 == 1500 && $2 == 1 { b = $4 }
$1 == 1000 && $2 == 1 { bad = 1 } $1 == 1500 && $2 == 0 { bad = 1 }
END { exit !(a > 0 && a <= 4.001 && b > 0 && b <= 4.001 && !bad && end < len - 1) }' \
    "$T/once.tones"
check $? "loop = no: the file plays once, 1000 Hz on channel 0 and 1500 Hz on channel 1"
tail=$(rms_db "$T/once.wav" -1)
[ "$tail" = "-inf" ]
check $? "and nothing sounds after it (last second: $tail dBFS)"
stop_daemon
check $? "SIGTERM stops it"

# ---- input = file: not there yet ------------------------------------------
# Shown in status and metrics, said once in the log, and tried again until
# the file appears.
file_config "$T/later.conf" "file:$T/later.wav" yes
start_running "$T/later.conf" "an input file that is not there"
st=$(ctl --json status)
json_get "$st" source_error | grep -q "later.wav"
check $? "status names the input file and why it did not open ($(json_get "$st" source_error))"
ctl metrics | grep -q "^tidepool_source_error 1$"
check $? "metrics: tidepool_source_error 1"
mv "$T/one.wav" "$T/later.wav"
wait_for 10 source_is "file $T/later.wav"
check $? "once the file is there it plays"
[ "$(json_get "$(ctl --json status)" source_error)" = None ] &&
    ctl metrics | grep -q "^tidepool_source_error 0$"
check $? "and the error is gone from status and metrics"
[ "$(grep -c "later.wav.*trying again" "$T/daemon.log")" -eq 1 ] &&
    grep -q "later.wav opens now" "$T/daemon.log"
check $? "the log says it once, then that it opens"
mv "$T/later.wav" "$T/one.wav"
stop_daemon
check $? "SIGTERM stops it"

# ---- input = file:, looping ------------------------------------------------
file_config "$T/loop.conf" "file:$T/one.wav" yes
start_running "$T/loop.conf" "a looping file input"
expect "record" ctl record "$T/loop.wav"
audio_passes 1500
check $? "two seconds of audio pass"
expect "record stop" ctl record stop
tones "$T/loop.wav" >"$T/loop.tones"
sed 's/^/# /' "$T/loop.tones"
# 0.5 s is exactly 500 and 750 periods: the loop joins without a seam,
# so one run of each tone lasts as long as the recording, over 1.5 s.
awk '
$1 == 1000 && $2 == 0 { a = $4 } $1 == 1500 && $2 == 1 { b = $4 }
END { exit !(a > 1.5 && b > 1.5) }' "$T/loop.tones"
check $? "the file loops: each channel's tone sounds on past the file's 0.5 s"

# ---- input = device, fed by another JACK client ----------------------------
stop_daemon
check $? "SIGTERM stops it"
file_config "$T/dev.conf" device yes
start_running "$T/dev.conf" "input = device"
# jack_metro beeps 50 ms of 1000 Hz ten times a second into the daemon's
# first input port (its inputs are the ports that take audio and are not
# the hardware's), and nothing into the second.
jack_metro -b 600 -f 1000 -D 50 -n beat >"$T/metro.log" 2>&1 &
METRO=$!
inport() {
	jack_lsp -p 2>/dev/null | awk '/^[^\t]/ { p = $0 }
	    /properties: input,/ && !/physical/ { print p }' | sort | head -n 1
}
wait_for 10 sh -c "jack_lsp 2>/dev/null | grep -q '^beat:600_bpm'"
port=$(inport)
[ -n "$port" ] && jack_connect beat:600_bpm "$port"
check $? "a beeping JACK client is connected to the daemon's input $port"
expect "record" ctl record "$T/dev.wav"
audio_passes 750
expect "record stop" ctl record stop
kill $METRO 2>/dev/null
tones "$T/dev.wav" >"$T/dev.tones"
sed 's/^/# /' "$T/dev.tones"
awk '$1 == 1000 && $2 == 0 { a = $4 } $1 == 1000 && $2 == 1 { bad = 1 }
END { exit !(a > 0.04 && a < 0.06 && !bad) }' "$T/dev.tones"
check $? "the device input is what the chain plays: 50 ms beeps on channel 0 only"
stop_daemon
check $? "SIGTERM stops it"
start_running "$T/loop.conf" "the looping file again"

# ---- a recording is a valid file while it is being written ----------------
# A copy is read front to back, so its header is never newer than its
# data: valid means every frame the header promises is there.
expect "record while looping" ctl record "$T/live.wav"
audio_passes 400
cp "$T/live.wav" "$T/live1.wav"
audio_passes 400
cp "$T/live.wav" "$T/live2.wav"
h1=$(soxi -s "$T/live1.wav" 2>/dev/null); d1=$(decoded_frames "$T/live1.wav")
h2=$(soxi -s "$T/live2.wav" 2>/dev/null); d2=$(decoded_frames "$T/live2.wav")
echo "# mid-recording: header $h1 then $h2 frames, data $d1 then $d2"
[ -n "$h1" ] && [ "$h1" -gt 0 ] && [ "$h1" -le "$d1" ] &&
    [ "$h2" -gt "$h1" ] && [ "$h2" -le "$d2" ]
check $? "read mid-recording, the file is valid and grows ($h1, $h2 frames)"
expect "record stop" ctl record stop

# ---- an [engine] change on reload waits for a restart ---------------------
sed -i 's/^period = 64/period = 128/' "$T/loop.conf"
ctl --json reload >"$T/reload.json"
check $? "a reload with another period is taken"
grep -q "take effect at the next start" "$T/reload.json"
check $? "and says the [engine] change takes effect at the next start"
[ "$(json_get "$(ctl --json status)" period)" = 64 ]
check $? "the running period stays 64"

# ---- tidepoolctl: $TIDEPOOL_SOCKET, -s, -t, stats --watch ----------------
expect "\$TIDEPOOL_SOCKET names the socket" \
    env TIDEPOOL_SOCKET="$T/control.sock" "$BIN/tidepoolctl" status
expect "-s wins over \$TIDEPOOL_SOCKET" \
    env TIDEPOOL_SOCKET="$T/nothing.sock" "$BIN/tidepoolctl" \
    -s "$T/control.sock" status
env TIDEPOOL_SOCKET="$T/nothing.sock" "$BIN/tidepoolctl" status \
    >"$T/nosock.out" 2>&1
[ $? -ne 0 ] && grep -q "nothing.sock" "$T/nosock.out"
check $? "a missing socket from \$TIDEPOOL_SOCKET is an error naming it"

# A socket that accepts and never answers.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen()
c, _ = s.accept()
time.sleep(60)' "$T/mute.sock" &
MUTE=$!
wait_for 30 test -S "$T/mute.sock"
timeout 30 "$BIN/tidepoolctl" -s "$T/mute.sock" -t 1 status \
    >"$T/mute.out" 2>&1
rc=$?
kill $MUTE 2>/dev/null
sed 's/^/# /' "$T/mute.out"
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "no reply .* within 1" "$T/mute.out"
check $? "-t 1 against a daemon that never answers: an error, not a hang (exit $rc)"

timeout -s INT --preserve-status 3 "$BIN/tidepoolctl" -s "$T/control.sock" \
    stats --watch -n 0.5 >"$T/watch.out" 2>&1
rc=$?
draws=$(grep -o "$(printf '\033\\[H')" "$T/watch.out" | wc -l)
[ $rc -eq 0 ] && [ "$draws" -ge 2 ] && grep -q "callback us" "$T/watch.out" &&
    [ "$(tail -c 6 "$T/watch.out")" = "$(printf '\033[?25h')" ]
check $? "stats --watch redraws the stats ($draws times in 3 s) until ^C, then shows the cursor (exit $rc)"

# ---- SIGINT: a clean stop, the recording finished -------------------------
expect "record" ctl record "$T/int.wav"
audio_passes 200
kill -INT "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
check $rc "SIGINT stops the daemon cleanly (exit $rc)"
got=$(soxi -s "$T/int.wav" 2>/dev/null)
[ -n "$got" ] && [ "$got" -ge $((200 * 64)) ] &&
    [ "$got" = "$(decoded_frames "$T/int.wav")" ]
check $? "and the recording is finished and valid ($got frames)"
grep -q "SIGINT: stopping" "$T/daemon.log"
check $? "the log says SIGINT"
finish
