# Shared by the integration tests: TAP output, a private temporary folder,
# a private JACK dummy server and the daemon's lifecycle.  Sourced, not run.
#
# Each test script runs from the repository root; BIN picks the build
# (build/release by default, build/rtsan for the sanitizer runs).

BIN=${BIN:-build/release}
# Symbolized sanitizer reports when a script runs alone, as tests/run.sh
# sets them (llvm-symbolizer comes with Debian's llvm package).
if [ -z "${RTSAN_OPTIONS:-}" ] && command -v llvm-symbolizer >/dev/null; then
	RTSAN_OPTIONS="halt_on_error=1:external_symbolizer_path=$(command -v llvm-symbolizer)"
	export RTSAN_OPTIONS
fi
TAP_N=0
TAP_FAILED=0
T=$(mktemp -d /tmp/tidepool-test.XXXXXX)
# Debian's own python3 (which has what the tests import), not a wrapper
# that a PATH set up for other work may put first: pyenv's shims are shell
# scripts that cost tenths of a second a call on a busy machine.  A link
# first on PATH, not a shell function: "python3 ... &" must be python
# itself, so that $! is the process a test later kills (a function runs in
# a subshell, and killing that left the python behind, holding the test's
# output open).
if [ -x /usr/bin/python3 ]; then
	mkdir -p "$T/bin" && ln -s /usr/bin/python3 "$T/bin/python3" &&
	    PATH=$T/bin:$PATH
fi
JACK_PID=
DAEMON_PID=

cleanup() {
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
	stop_jack
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
# A test stopped from outside (make mutate's time limit, ^C) cleans up as
# well: without these, sh leaves by the signal, not by exit, skipping the
# EXIT trap, and its JACK server and daemon ran on.
trap 'exit 143' TERM
trap 'exit 130' INT HUP

# ok CONDITION-STATUS DESCRIPTION: one TAP line.
check() {
	status=$1; shift
	TAP_N=$((TAP_N + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		echo "not ok $TAP_N - $*"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# Runs "$@" and records its success as one test; DESC comes first.
expect() {
	desc=$1; shift
	if "$@" >"$T/last.out" 2>&1; then
		check 0 "$desc"
	else
		check 1 "$desc"
		sed 's/^/# /' "$T/last.out" | tail -n 20
	fi
}

# Like expect, but the command must fail.
expect_fail() {
	desc=$1; shift
	if "$@" >"$T/last.out" 2>&1; then
		check 1 "$desc (it succeeded)"
	else
		check 0 "$desc"
	fi
}

finish() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}

# A JACK dummy server of our own (48 kHz, 64 frames unless told).
start_jack() {
	period=${1:-64}
	JACK_DEFAULT_SERVER=tidepool-$$-$(date +%s%N)
	export JACK_DEFAULT_SERVER
	launch_jack "$period" && return 0
	# JACK keeps at most 8 servers in its shared registry and frees the
	# entry of one that died (SIGKILL) only when a server of the same
	# name starts again: do that for each dead one, and try once more.
	if grep -q "Too many servers" "$T/jackd.log" && reclaim_jack_servers
	then
		launch_jack "$period" && return 0
	fi
	# Full of live servers (other test runs on the machine): wait for
	# one of them to finish, two minutes at most.
	local until
	until=$(($(date +%s) + 120))
	while grep -q "Too many servers" "$T/jackd.log" &&
	    [ "$(date +%s)" -lt "$until" ]; do
		sleep 2
		launch_jack "$period" && return 0
	done
	return 1
}

# dead_jack_servers: the names of the servers in JACK's shared registry
# whose process is gone.  The registry is JACK2's jack_shm_header_t (shm.h):
# a 24-byte head, then 8 entries of a pid and a 257-byte name
# ("jack-UID:NAME:"), 264 bytes each.  Only read here.
dead_jack_servers() {
	python3 - <<'PY'
import os, struct
try:
    d = open("/dev/shm/jack-shm-registry", "rb").read(24 + 8 * 264)
except OSError:
    d = b""
for i in range(8):
    off = 24 + i * 264
    if len(d) < off + 264:
        break
    pid = struct.unpack_from("<i", d, off)[0]
    name = d[off + 4:off + 261].split(b"\0")[0].decode(errors="replace")
    if pid > 0 and ":" in name and not os.path.exists("/proc/%d" % pid):
        print(name.split(":")[1])
PY
}

# reclaim_jack_servers: frees the registry entries of dead servers the way
# JACK does, by starting a server of that name and stopping it with
# SIGTERM.  0 if there was one to free.
reclaim_jack_servers() {
	local names name pid
	names=$(dead_jack_servers)
	[ -n "$names" ] || return 1
	for name in $names; do
		echo "# freeing dead JACK server $name from the registry"
		JACK_DEFAULT_SERVER=$name JACK_NO_AUDIO_RESERVATION=1 \
		    jackd --no-realtime -d dummy -r 48000 -p 256 \
		    >/dev/null 2>&1 &
		pid=$!
		JACK_DEFAULT_SERVER=$name jack_wait -w -t 10 >/dev/null 2>&1
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}

# launch_jack PERIOD: jackd on $JACK_DEFAULT_SERVER, waited for.
launch_jack() {
	# No D-Bus device reservation and no real-time scheduling here.
	JACK_NO_AUDIO_RESERVATION=1 jackd --no-realtime -d dummy -r 48000 \
	    -p "$1" >"$T/jackd.log" 2>&1 &
	JACK_PID=$!
	jack_wait -w -t 10 >/dev/null 2>&1 && kill -0 "$JACK_PID" 2>/dev/null
}

# stop_jack: SIGTERM, so that jackd leaves JACK's registry (see above);
# SIGKILL only if it has not gone within 20 s (a loaded machine).
stop_jack() {
	[ -n "$JACK_PID" ] || return 0
	kill -TERM "$JACK_PID" 2>/dev/null
	i=0
	while kill -0 "$JACK_PID" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$JACK_PID" 2>/dev/null
	wait "$JACK_PID" 2>/dev/null
	JACK_PID=
}

# daemon_gone: tidepoold has exited (a zombie not yet waited for is gone
# too: kill -0 would still find it).
daemon_gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$DAEMON_PID/stat" 2>/dev/null | cut -c1)
	[ -z "$st" ] || [ "$st" = Z ]
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds, for at most
# SECONDS of wall time however long each try takes.  Once the daemon
# started by start_daemon has died, what it would have done never comes:
# the wait ends at once (and says so) instead of at the deadline.
wait_for() {
	# local (dash has it): COMMAND may be a function that waits itself.
	local wait_until
	wait_until=$(($(date +%s) + $1)); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if [ -n "$DAEMON_PID" ] && daemon_gone; then
			echo "# wait_for $*: tidepoold ($DAEMON_PID) is gone"
			return 1
		fi
		[ "$(date +%s)" -lt "$wait_until" ] || return 1
		sleep 0.1
	done
}

# tone_config FILE STAGES: the daemon config most tests use: 48 kHz, 64
# frames, stereo, a 440 Hz tone at -20 dBFS, the socket in $T, play and
# record confined to $T, then the STAGES text ([stage.NAME] sections).
tone_config() {
	cat >"$1" <<CONF
[engine]
rate = 48000
period = 64
channels = 2
input = tone:440
tone_level = -20

[control]
socket = $T/control.sock

[files]
recordings = $T

$2
CONF
}

ctl() {
	"$BIN/tidepoolctl" -s "$T/control.sock" "$@"
}

# start_daemon CONFIG: runs tidepoold in the background, waits for it.
start_daemon() {
	"$BIN/tidepoold" -c "$1" >"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	wait_for 10 ctl status
}

# stop_daemon: SIGTERM and wait; the exit status is returned.
stop_daemon() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID"
	rc=$?
	DAEMON_PID=
	return $rc
}

# callbacks: how many times the audio callback has run, from status.
callbacks() {
	json_get "$(ctl --json status)" callbacks
}

# callbacks_above N, state_is STATE, source_is PREFIX: whether the daemon
# is there yet; for wait_for, which polls them with a deadline.
callbacks_above() {
	n=$(callbacks 2>/dev/null) && [ "${n:-0}" -gt "$1" ]
}
state_is() {
	[ "$(json_get "$(ctl --json status)" state 2>/dev/null)" = "$1" ]
}
source_is() {
	case $(json_get "$(ctl --json status)" source 2>/dev/null) in
	"$1"*) return 0 ;;
	esac
	return 1
}

# audio_passes N: waits (120 s at most) until the callback has run N more
# times: N periods of audio, however slowly the machine runs them.
audio_passes() {
	local base
	base=$(callbacks) && wait_for 120 callbacks_above $((base + $1))
}

# no_sanitizer_report LOG: one check that LOG holds no sanitizer report,
# in the runs whose reports land there.  RealtimeSanitizer (build/rtsan)
# writes to stderr; tests/integration/sanitizers.sh sends ASan's, UBSan's
# and TSan's to files of their own and checks those; a release build has
# nothing that could report, so no check is made there.
no_sanitizer_report() {
	[ "${BIN##*/}" = release ] && return 0
	case "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}${TSAN_OPTIONS:-}" in
	*log_path=*) return 0 ;;
	esac
	! grep -Eq 'Sanitizer|runtime error' "$1"
	check $? "no sanitizer report in $(basename "$1")"
	grep -E 'Sanitizer|runtime error' "$1" | head -n 20 | sed 's/^/# /'
}

# json_get JSON KEY.PATH: prints one value (python3 is on every machine).
json_get() {
	printf '%s' "$1" | python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$2"
}

# rms_db FILE [START [LENGTH]]: the RMS level in dBFS (sox stats).
rms_db() {
	if [ $# -ge 3 ]; then
		sox "$1" -n trim "$2" "$3" stats 2>&1
	elif [ $# -ge 2 ]; then
		sox "$1" -n trim "$2" stats 2>&1
	else
		sox "$1" -n stats 2>&1
	fi | awk '/^RMS lev dB/ {print $4; exit}'
}

# residual_db A B: RMS level of A - B in dBFS (over A's length).
residual_db() {
	sox -m -v 1 "$1" -v -1 "$2" -n stats 2>&1 |
	    awk '/^RMS lev dB/ {print $4; exit}'
}

# decoded_frames FILE: the frames sox decodes from FILE, whatever its
# header says (soxi -s reads only the header).
decoded_frames() {
	c=$(soxi -c "$1" 2>/dev/null) || return 1
	b=$(sox "$1" -t f32 - 2>/dev/null | wc -c)
	echo $((b / 4 / c))
}

# below X LIMIT: X < LIMIT, for floats and -inf.
below() {
	awk -v x="$1" -v l="$2" 'BEGIN { exit !(x == "-inf" || x + 0 < l + 0) }'
}
