#!/bin/sh
# FIFOs as the files of play and record: the disk thread may wait on them,
# the control thread never does.  While an open hangs (nobody at the other
# end) `stats` answers in under 1 s, the open is abandoned after the stated
# 3 s with an error naming the file, a recording already running keeps
# every frame, and SIGTERM still exits within 2 s.  A writer that comes
# late plays; a reader that stops reading holds only its recording, and a
# reader that pauses (0.2 s every 1.5 s) causes no reconnect.
. tests/integration/lib.sh

tone_config "$T/a.conf" "[stage.vol]
type = gain"
sox -n -r 48000 -c 2 "$T/beep.wav" synth 2 sine 1000 gain -10 2>/dev/null
check $? "sox makes a 2 s test file"

MAXMS=0
# stats_fast: one `stats`, answered (in under 1 s: the slowest is kept).
stats_fast() {
	local t0 ms
	t0=$(date +%s%N)
	ctl --json stats >/dev/null || return 1
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -gt "$MAXMS" ] && MAXMS=$ms
	[ "$ms" -lt 1000 ]
}
# stats_while PID: `stats` again and again while PID runs; 1 if one was
# late or failed.
stats_while() {
	local bad=0
	while kill -0 "$1" 2>/dev/null; do
		stats_fast || bad=1
		sleep 0.1
	done
	return $bad
}
xrun() {	# xrun NAME: one xruns counter from stats
	json_get "$(ctl --json stats)" "xruns.$1"
}

start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 10 state_is running
check $? "status says running"

# A recording runs through everything that follows.
expect "record to a regular file" ctl record "$T/rec.wav"
c0=$(callbacks)

# play a FIFO nobody writes to: the reply is an error after 3 s.
mkfifo "$T/nowriter.wav"
t0=$(date +%s%N)
ctl play "$T/nowriter.wav" >"$T/play1.out" 2>&1 &
P=$!
stats_while $P
check $? "stats answers in under 1 s while play waits on a FIFO (slowest $MAXMS ms)"
wait $P
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
sed 's/^/# /' "$T/play1.out"
[ $rc -ne 0 ] && grep -q "nowriter.wav: not open after 3 s" "$T/play1.out"
check $? "play of a FIFO nobody writes to is abandoned with an error naming it ($ms ms)"
[ "$ms" -ge 2900 ]
check $? "not before the stated 3 s ($ms ms)"
expect "the daemon still plays its tone" source_is tone

# A writer that comes late: the file plays.
mkfifo "$T/late.wav"
ctl --json play --once "$T/late.wav" >"$T/play2.out" 2>&1 &
P=$!
sleep 1
stats_fast
check $? "stats answers while play waits for its writer"
cat "$T/beep.wav" >"$T/late.wav" &
W=$!
wait $P
rc=$?
sed 's/^/# /' "$T/play2.out"
[ $rc -eq 0 ] && grep -q '"playing"' "$T/play2.out"
check $? "a writer that comes late: the FIFO plays"
# The writer ends with the playback; if nothing opened the FIFO it would
# wait for ever.
wait_for 20 sh -c "! kill -0 $W"
kill "$W" 2>/dev/null
wait $W
wait_for 10 source_is tone
check $? "and once it ends, the tone comes back"

# record to a FIFO nobody reads (while the first recording runs on: only
# one recording at a time, so stop it first and start it again after).
ctl --json record stop >"$T/stop1.json"
check $? "record stop"
c1=$(callbacks)
got=$(decoded_frames "$T/rec.wav")
said=$(json_get "$(cat "$T/stop1.json")" frames)
echo "# first recording: $got frames decoded, $said in the reply, callbacks $c0 .. $c1"
[ "$got" = "$said" ] && [ "$got" -ge $(((c1 - c0 - 40) * 64)) ]
check $? "the recording that ran meanwhile holds every period (not spliced)"
[ "$(xrun record_dropped_frames)" = 0 ] && [ "$(xrun pool_exhausted)" = 0 ]
check $? "no recorded frame was dropped"

mkfifo "$T/noreader.wav"
t0=$(date +%s%N)
ctl record "$T/noreader.wav" >"$T/rec1.out" 2>&1 &
P=$!
MAXMS=0
stats_while $P
check $? "stats answers in under 1 s while record waits on a FIFO (slowest $MAXMS ms)"
wait $P
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
sed 's/^/# /' "$T/rec1.out"
[ $rc -ne 0 ] && grep -q "noreader.wav: not open after 3 s" "$T/rec1.out"
check $? "record to a FIFO nobody reads is abandoned with an error naming it ($ms ms)"
expect_fail "and it is not recording" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q '\"recording\":\"'"

# A reader that pauses 0.2 s every 1.5 s: no false reconnect.
mkfifo "$T/slow.wav"
python3 - "$T/slow.wav" "$T/slow.out" <<'PY' &
import sys, time
start = time.time()
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as o:
    last = time.time()
    while True:
        b = f.read(4096)
        if not b:
            break
        o.write(b)
        if time.time() - last > 1.5:
            time.sleep(0.2)
            last = time.time()
PY
R=$!
expect "record to a FIFO a slow reader reads" ctl record "$T/slow.wav"
audio_passes 4500	# 6 s of audio
expect "record stop with the slow reader" ctl record stop
# A reader whose FIFO nobody opened would wait for ever.
wait_for 20 sh -c "! kill -0 $R"
kill "$R" 2>/dev/null
wait $R
check $? "the slow reader read to the end"
! grep -q "reconnecting" "$T/daemon.log"
check $? "no reconnect while the reader paused"
grep "reconnecting\|no callback" "$T/daemon.log" | sed 's/^/# /'
expect "sox decodes what the slow reader got" sox "$T/slow.out" -n stat

# A reader that stops reading: the recording stalls, nothing else does.
mkfifo "$T/stuck.wav"
python3 - "$T/stuck.wav" <<'PY' &
import sys, time
with open(sys.argv[1], "rb") as f:
    f.read(65536)
    time.sleep(60)
PY
R=$!
expect "record to a FIFO whose reader will stop" ctl record "$T/stuck.wav"
audio_passes 3000	# 4 s: the pipe is full long before
MAXMS=0
ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	stats_fast || ok=1
	sleep 0.1
done
check $ok "stats answers in under 1 s while the FIFO is full (slowest $MAXMS ms)"
wait_for 10 state_is running
check $? "the device stays running"
[ "$(xrun source_starved)" = 0 ]
check $? "the tone does not starve"

# SIGTERM with the recording stuck and a play waiting on a FIFO.
ctl play "$T/nowriter.wav" >/dev/null 2>&1 &
P=$!
sleep 0.5
t0=$(date +%s%N)
stop_daemon
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ]
check $? "SIGTERM stops the daemon cleanly (exit $rc in $ms ms)"
[ "$ms" -lt 2000 ]
check $? "within 2 s ($ms ms)"
kill "$R" 2>/dev/null
wait $P 2>/dev/null
tail -n 5 "$T/daemon.log" | sed 's/^/# /'
no_sanitizer_report "$T/daemon.log"
finish
