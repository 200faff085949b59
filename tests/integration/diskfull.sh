#!/bin/sh
# A disk that fills during a recording (a 200 KiB tmpfs: half a second of
# stereo float): the recording ends at once, the engine is told (so
# pool_exhausted does not count on in every callback), everything written
# stays and decodes, and status, metrics and `record stop` say what
# happened.  The same for a disk that reports its error only when the
# file is synced (fsync fails with EIO: tests/fault/failio.c, preloaded,
# for files under $T/eio only).  Needs root for the mount.
. tests/integration/lib.sh

if [ "$(id -u)" != 0 ]; then
	echo "ok 1 # SKIP diskfull.sh mounts a tmpfs: needs root"
	echo "1..1"
	exit 0
fi
FULL=$T/full
mkdir -p "$FULL"
trap 'umount "$FULL" 2>/dev/null; cleanup' EXIT
mount -t tmpfs -o size=200k tmpfs "$FULL"
check $? "a 200 KiB tmpfs is mounted"

tone_config "$T/a.conf" "[stage.vol]
type = gain"
xrun() {	# xrun NAME: one xruns counter from stats
	json_get "$(ctl --json stats)" "xruns.$1"
}
status_field() {
	json_get "$(ctl --json status)" "$1"
}
recording_ended() {
	[ "$(status_field recording)" = None ] &&
	    [ "$(status_field recording_error)" != None ]
}

start_jack 64
check $? "a private JACK dummy server starts"
mkdir -p "$T/eio"
TP_FAIL_CALL=fsync TP_FAIL_PATH=$T/eio/ LD_PRELOAD=$(pwd)/$BIN/fault/failio.so \
    start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 10 state_is running
check $? "status says running"

expect "record onto the small tmpfs" ctl record "$FULL/rec.wav"
wait_for 20 recording_ended
check $? "the recording ends by itself when the disk is full"
err=$(status_field recording_error)
echo "# status: $err"
case $err in
*rec.wav*) check 0 "status names the file and the error" ;;
*) check 1 "status names the file and the error ($err)" ;;
esac

# The engine was told: no missing record block counted from now on.
p1=$(xrun pool_exhausted)
audio_passes 1500	# 2 s of audio
p2=$(xrun pool_exhausted)
echo "# pool_exhausted: $p1, then $p2 after 1500 more callbacks"
[ "$p1" = "$p2" ]
check $? "pool_exhausted does not grow after the error ($p1, $p2)"

ctl metrics >"$T/metrics.txt"
grep -q '^tidepool_recording_errors_total 1$' "$T/metrics.txt"
check $? "metrics count the recording that ended early"

ctl --json record stop >"$T/stop.json"
rc=$?
sed 's/^/# /' "$T/stop.json"
[ $rc -ne 0 ] && grep -q '"ok":false' "$T/stop.json" &&
    grep -q 'recording ended early' "$T/stop.json"
check $? "record stop says the recording ended early, and why"
said=$(json_get "$(cat "$T/stop.json")" frames)
got=$(decoded_frames "$FULL/rec.wav")
echo "# frames: $said in the reply, $got decoded by sox"
# sfout_write reports a block that fails part way as not written, while
# libsndfile has put its first part in the file: up to one block (1024
# frames) more than the reply.
[ -n "$got" ] && [ "$said" -gt 0 ] && [ "$got" -ge "$said" ] &&
    [ "$got" -le $((said + 1024)) ]
check $? "the file decodes with sox and holds every frame the reply counts"
expect_fail "a second record stop: not recording" ctl record stop

# The disk thread goes on: a new recording elsewhere works.
expect "record to a disk with room" ctl record "$T/rec2.wav"
audio_passes 750
ctl --json record stop >"$T/stop2.json"
check $? "record stop"
[ "$(decoded_frames "$T/rec2.wav")" = "$(json_get "$(cat "$T/stop2.json")" frames)" ]
check $? "and that file is whole"
[ "$(status_field recording_error)" = None ]
check $? "status no longer shows the old error"

# A disk that fails the sync at the end: record stop must not say ok.
expect "record where the sync will fail" ctl record "$T/eio/rec.wav"
audio_passes 750
ctl --json record stop >"$T/stop3.json"
rc=$?
sed 's/^/# /' "$T/stop3.json"
[ $rc -ne 0 ] && grep -q 'cannot sync to the disk: Input/output error' "$T/stop3.json"
check $? "record stop after a failed fsync says so (exit $rc)"
case $(status_field recording_error) in
*"$T/eio/rec.wav: cannot sync"*) check 0 "status shows it" ;;
*) check 1 "status shows it" ;;
esac
said=$(json_get "$(cat "$T/stop3.json")" frames)
[ "$(decoded_frames "$T/eio/rec.wav")" = "$said" ]
check $? "and what was written stays: the file decodes whole ($said frames)"

stop_daemon
check $? "SIGTERM stops the daemon cleanly"
no_sanitizer_report "$T/daemon.log"
finish
