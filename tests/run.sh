#!/bin/sh
# Runs every test tidepool has and ends with one line "N passed, N failed".
#
# Each test program or script speaks TAP ("ok N - what", "not ok N - what");
# cmocka is asked for TAP through CMOCKA_MESSAGE_OUTPUT.  A program that exits
# non-zero without a "not ok" line (a crash, a sanitizer report) counts as one
# failure of its own.  Output of failing tests is shown; the rest is kept in
# build/test-logs.
set -u
cd "$(dirname "$0")/.."
logs=build/test-logs
rm -rf "$logs"; mkdir -p "$logs"

passed=0
failed=0
export CMOCKA_MESSAGE_OUTPUT=TAP
# Symbolized stacks in sanitizer reports, whichever clang built the binary.
sym=$(command -v llvm-symbolizer || true)
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1${sym:+:external_symbolizer_path=$sym}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${sym:+:external_symbolizer_path=$sym}"
export RTSAN_OPTIONS="halt_on_error=1${sym:+:external_symbolizer_path=$sym}"

# run_one LABEL COMMAND...
run_one() {
	label=$1; shift
	log="$logs/$(echo "$label" | tr '/ ' '__').log"
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	# A skipped test ("ok N # SKIP" or cmocka's "not ok N # SKIP") is
	# neither passed nor failed.
	ok=$(grep '^ok ' "$log" | grep -vc '# SKIP')
	nok=$(grep '^not ok ' "$log" | grep -vc '# SKIP')
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $label exited with status $rc" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -gt 0 ]; then
		printf 'FAIL %-44s %3d ok %3d failed %4ds\n' "$label" "$ok" "$nok" "$secs"
		sed 's/^/    | /' "$log" | tail -n 60
	else
		printf 'pass %-44s %3d ok %4ds\n' "$label" "$ok" "$secs"
	fi
}

for variant in release asan; do
	for t in build/$variant/tests/test_*; do
		[ -x "$t" ] && run_one "$variant/$(basename "$t")" "$t"
	done
done
# Where the machine runs biquads a group at a time (AVX2 and FMA), the
# sample-by-sample form runs only during glides: run the tests that hold
# the filters to their promises once more with it forced.
for t in test_dsp_blocks test_dsp_sox test_dsp_biquad; do
	run_one "release/$t (plain biquads)" env TIDEPOOL_DSP_PLAIN=1 \
	    "build/release/tests/$t"
done
for t in build/release/tests/stress_*; do
	[ -x "$t" ] && run_one "release/$(basename "$t")" "$t"
done
for t in build/asan/tests/stress_*; do
	# The sanitized stress run proves the same invariants with fewer operations.
	[ -x "$t" ] && run_one "asan/$(basename "$t")" "$t" --quick
done
# ThreadSanitizer sees the threads' own memory around the pools and rings
# (whose hand-overs rtpool/rttsan.h annotates); a report fails the run.
for t in build/tsan/tests/stress_*; do
	[ -x "$t" ] && run_one "tsan/$(basename "$t")" \
	    env TSAN_OPTIONS="halt_on_error=1${sym:+:external_symbolizer_path=$sym}" \
	    "$t" --quick
done
# The fuzz targets replay their committed corpus, then fuzz a little.
for t in build/fuzz/fuzz/fuzz_*; do
	[ -x "$t" ] && run_one "fuzz/$(basename "$t")" \
	    sh tests/fuzz/run.sh 5 "$(basename "$t")"
done
for t in tests/integration/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	[ -f "$t" ] && run_one "integration/$(basename "$t" .sh)" sh "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
