#!/bin/sh
# tidepool-render never claims what it did not write: onto a full disk (a
# 100 KiB tmpfs) every format exits non-zero, names the error and leaves
# no output file, not even its temporary one.  Once an Ogg render said
# "16,000 frames" and exited 0 with a file that decodes to nothing.  The
# same when the disk reports its error only at fsync() or close() (EIO,
# injected by tests/fault/failio.c).  And an output's mode follows the
# umask, as sox's does.
. tests/integration/lib.sh

R="$BIN/tidepool-render"
mkdir -p "$T/full"
if ! mount -t tmpfs -o size=100k tmpfs "$T/full" 2>"$T/mount.err"; then
	echo "ok 1 # SKIP cannot mount a tmpfs here: $(cat "$T/mount.err")"
	echo "1..1"
	exit 0
fi
trap 'umount "$T/full" 2>/dev/null; cleanup' EXIT

# refused DIR ERROR WHAT COMMAND...: the render COMMAND fails, its error
# matches ERROR, and DIR is left empty (not even the temporary file).
refused() {
	dir=$1 err=$2 what=$3
	shift 3
	"$@" 2>"$T/err.txt"
	rc=$?
	left=$(ls -A "$dir")
	[ $rc -ne 0 ] && [ -z "$left" ] && grep -q "$err" "$T/err.txt"
	check $? "$what: exit $rc, files left: '$left', $(head -c 160 "$T/err.txt")"
	rm -f "$dir/"*
}

# 10 s of stereo noise: more than 100 KiB in every format, MP3 too.
sox -R -n -r 48000 -c 2 "$T/in.wav" synth 10 whitenoise gain -6
for ext in wav ogg mp3 flac opus aiff caf au w64; do
	refused "$T/full" "No space left on device" "$ext onto a full disk" \
	    "$R" -q "$T/in.wav" "$T/full/out.$ext"
done
# What fits is still written, whole.
sox -R -n -r 48000 -c 2 "$T/small.wav" synth 0.1 whitenoise gain -6
"$R" -q "$T/small.wav" "$T/full/small.ogg"
check $? "a render that fits still succeeds"
[ "$(decoded_frames "$T/full/small.ogg")" = 4800 ]
check $? "and decodes whole ($(decoded_frames "$T/full/small.ogg") frames)"

# ---- a late I/O error: fsync or close fails --------------------------------
mkdir -p "$T/eio"
for call in fsync close; do
	for ext in wav flac ogg mp3; do
		refused "$T/eio" "out.$ext: .*Input/output error" \
		    "$ext when $call fails" env TP_FAIL_CALL=$call \
		    TP_FAIL_PATH="$T/eio/" \
		    LD_PRELOAD="$(pwd)/$BIN/fault/failio.so" \
		    "$R" -q "$T/small.wav" "$T/eio/out.$ext"
	done
done

# ---- the output's mode is the umask's ---------------------------------------
for u in 022 027 077; do
	rm -f "$T/m.wav" "$T/s.wav"
	(umask $u; "$R" -q "$T/small.wav" "$T/m.wav"; sox "$T/small.wav" "$T/s.wav")
	m=$(stat -c %a "$T/m.wav")
	s=$(stat -c %a "$T/s.wav")
	[ "$m" = "$s" ]
	check $? "umask $u: the render's output is mode $m, sox's $s"
done
finish
