#!/bin/sh
# Runs tidepool's fuzz targets (build/fuzz/fuzz/fuzz_*) and speaks TAP.
#
#   sh tests/fuzz/run.sh SECONDS [TARGET...]
#
# For each target, two tests.  First every file of its committed seed corpus
# (tests/fuzz/corpus/NAME) runs once: the regression part, so an input that
# once crashed stays fixed.  Then SECONDS of fuzzing grow from it.  What the
# fuzzer finds new goes to build/fuzz-corpus/NAME, kept between runs so a
# long `make fuzz` builds on the last one; the committed corpus is only ever
# read.  A crash, a leak or a sanitizer report fails the test, and the input
# is kept in build/fuzz-crashes/ to be turned into a regression.
set -u
cd "$(dirname "$0")/../.."
secs=${1:?usage: run.sh SECONDS [TARGET...]}; shift
[ $# -eq 0 ] && set -- $(cd build/fuzz/fuzz && ls fuzz_* 2>/dev/null)

# Leaks in libraries we cannot fix, each explained in the file.  The
# suppressions name functions, so the stacks must be symbolized.
sym=$(command -v llvm-symbolizer || true)
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0}${sym:+:external_symbolizer_path=$sym}"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
crashes=build/fuzz-crashes
mkdir -p "$crashes"
n=0
failed=0
log=$(mktemp /tmp/tidepool-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT

tap() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		grep -v '^#[0-9]' "$log" | tail -n 40 | sed 's/^/# /'
	fi
}

for t in "$@"; do
	name=${t#fuzz_}
	bin=build/fuzz/fuzz/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	work=build/fuzz-corpus/$name
	dict=tests/fuzz/$name.dict
	mkdir -p "$work"
	# -timeout: an input that takes seconds is a hang worth knowing of.
	opts="-timeout=10 -rss_limit_mb=2560 -print_final_stats=1
	    -artifact_prefix=$crashes/${name}-"
	[ -f "$dict" ] && opts="$opts -dict=$dict"

	"$bin" $opts -runs=0 "$seeds" >"$log" 2>&1
	tap $? "fuzz_$name: the $(ls "$seeds" | wc -l) committed inputs run clean"

	# New inputs land in the first directory: the work corpus.
	"$bin" $opts -max_total_time="$secs" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	tap $rc "fuzz_$name: $secs s of fuzzing, no crash"
	echo "# fuzz_$name: ${execs:-?} runs, ${rate:-?} per second, corpus" \
	    "$(ls "$work" | wc -l) found + $(ls "$seeds" | wc -l) seeds"
done
echo "1..$n"
[ "$failed" -eq 0 ]
