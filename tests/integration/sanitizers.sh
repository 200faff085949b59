#!/bin/sh
# The sanitizer matrix over the integration tests: the daemon, render,
# overload and no-device tests run again with sanitized programs.
#
#   build/asan  gcc, AddressSanitizer + UndefinedBehaviorSanitizer, and
#               LeakSanitizer on every program's exit (the daemon's after
#               SIGTERM included)
#   build/tsan  clang-22, ThreadSanitizer: the render's reader, engine and
#               writer threads; the daemon's control thread against the
#               PortAudio callback thread (ck's rings are annotated in
#               rtpool/rttsan.h; tests/tsan.supp says what else is not seen),
#               and libmicrohttpd's thread answering /metrics against both
#
# Reports go to files, not to the tests' output, so that a report from a
# program a test expects to fail is not taken for the expected failure: a
# run passes when its tests pass and no report file was written.
. tests/integration/lib.sh

reports=$T/reports
mkdir -p "$reports"
sym=$(command -v llvm-symbolizer || true)
sym=${sym:+:external_symbolizer_path=$sym}
export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan$sym"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan$sym"
export TSAN_OPTIONS="halt_on_error=0:log_path=$reports/tsan$sym:suppressions=$PWD/tests/tsan.supp"

# under VARIANT SCRIPT: one TAP line for the script's tests, one for the
# reports.
under() {
	variant=$1; script=$2
	rm -f "$reports"/*
	# A bound in case something hangs where no reply timeout reaches.
	BIN=build/$variant timeout 600 sh "tests/integration/$script.sh" \
	    >"$T/$variant-$script.tap" 2>&1
	rc=$?
	# Each failure with the comment lines that follow it (what failed).
	awk '/^not ok/ { show = 1; print "# " $0; next }
	    /^#/ && show { print "# " $0; next } { show = 0 }' \
	    "$T/$variant-$script.tap"
	check $rc "$script.sh passes with build/$variant"
	n=$(ls "$reports" | wc -l)
	if [ "$n" -ne 0 ]; then
		for f in "$reports"/*; do
			grep -E 'ERROR|WARNING|SUMMARY|runtime error|^    #[0-9] ' \
			    "$f" | head -n 20 | sed 's/^/# /'
		done
	fi
	check $((n != 0)) "$script.sh: no $variant report ($n)"
}

under asan render
under asan daemon
under asan overload
under asan noaudio
under asan metrics_http
under tsan render
under tsan daemon
under tsan metrics_http
finish
