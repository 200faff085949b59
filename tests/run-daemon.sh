#!/bin/sh
# make run: starts tidepoold in the foreground with config/tidepool.conf.
#
# PortAudio only sees a JACK server that is already up when it starts, so
# on a machine with no sound card this first starts a private JACK dummy
# server (a real audio server with a clock and no hardware) and says so.
# ^C stops the daemon (and the server this started).
set -u
cd "$(dirname "$0")/.."
BIN=build/release
CONFIG=config/tidepool.conf
jack_pid=

cleanup() {
	# TERM, so that jackd leaves JACK's server registry.
	[ -n "$jack_pid" ] && kill -TERM "$jack_pid" 2>/dev/null
}
trap cleanup EXIT INT TERM

has_card() {
	[ -r /proc/asound/cards ] && ! grep -q "no soundcards" /proc/asound/cards
}

# jack_wait -c exits 0 either way; its answer is what it prints.
jack_running() {
	[ "$(jack_wait -c 2>/dev/null)" = running ]
}

if ! has_card && ! jack_running; then
	JACK_DEFAULT_SERVER=${JACK_DEFAULT_SERVER:-tidepool-run}
	export JACK_DEFAULT_SERVER
	echo "make run: no sound card here; starting a private JACK dummy" \
	    "server '$JACK_DEFAULT_SERVER' (48 kHz, 64 frames)" >&2
	JACK_NO_AUDIO_RESERVATION=1 jackd --no-realtime -d dummy -r 48000 \
	    -p 64 >/tmp/tidepool-run-jackd.log 2>&1 &
	jack_pid=$!
	if ! jack_wait -w -t 10 >/dev/null 2>&1; then
		echo "make run: jackd did not start; see" \
		    "/tmp/tidepool-run-jackd.log" >&2
		exit 1
	fi
fi

# The shipped config puts the socket in /run/tidepool (systemd makes it).
# Here: make that folder if we may, else use a copy with the socket in /tmp.
sock=$(sed -n 's/^socket *= *//p' "$CONFIG" | tail -n 1)
sock=${sock:-/run/tidepool/control.sock}
if ! mkdir -p "$(dirname "$sock")" 2>/dev/null || \
    ! [ -w "$(dirname "$sock")" ]; then
	sock=/tmp/tidepool-$(id -u)/control.sock
	mkdir -p "$(dirname "$sock")"
	sed "s|^socket *=.*|socket = $sock|" "$CONFIG" >"$(dirname "$sock")/run.conf"
	CONFIG=$(dirname "$sock")/run.conf
fi
# Clients' files: a folder under the build tree, not /var/lib/tidepool.
files=$PWD/build/run-files
mkdir -p "$files"
run_conf=build/run.conf
if grep -q "^recordings *=" "$CONFIG"; then
	sed "s|^recordings *=.*|recordings = $files|" "$CONFIG" >"$run_conf"
elif grep -q "^\[files\]" "$CONFIG"; then
	sed "/^\[files\]/a recordings = $files" "$CONFIG" >"$run_conf"
else
	{ cat "$CONFIG"; printf '\n[files]\nrecordings = %s\n' "$files"; } \
	    >"$run_conf"
fi
CONFIG=$run_conf
echo "make run: play and record files in $files" >&2
echo "make run: tidepoold -c $CONFIG; in another terminal:" >&2
echo "  $BIN/tidepoolctl -s $sock stats --watch" >&2
"$BIN/tidepoold" -c "$CONFIG"
