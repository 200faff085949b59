#!/bin/sh
# Installs the Debian packages tidepool builds, tests and benchmarks with.
# Run as root it calls apt-get; otherwise it prints the exact line to run and
# fails, so a missing package is never discovered half-way through a build.
set -eu

PACKAGES="build-essential pkg-config libck-dev libinih-dev libcmocka-dev
portaudio19-dev libsndfile1-dev libsoxr-dev libcjson-dev libsystemd-dev
jackd2 sox libsox-fmt-all clang-22 libclang-rt-22-dev socat
systemd python3 llvm man-db groff-base libasound2-dev libmicrohttpd-dev
prometheus python3-prometheus-client opus-tools flac
pipewire pipewire-bin pipewire-jack wireplumber dbus dbus-daemon
libfftw3-dev python3-scipy"
BENCH_PACKAGES="ecasound libjemalloc-dev libgoogle-perftools-dev google-perftools hyperfine
time strace brutefir jconvolver"

want="$PACKAGES"
[ "${1:-}" = "--bench" ] && want="$PACKAGES $BENCH_PACKAGES"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "tidepool: missing packages; as root run:" >&2
	echo "  apt-get update && $line" >&2
	exit 1
fi
echo "tidepool: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
