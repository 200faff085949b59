#!/bin/sh
# make mutate: breaks the code on purpose, one mutation of tests/mutate/list
# at a time, and runs the test that must catch it.  Not part of make test.
#
#   sh tests/mutate/run.sh [-t TEST] [-l] [NAME...]
#
# NAME...  only these mutations;  -t TEST  only those whose test is TEST
# (release/test_dsp_sox, integration/render, ...);  -l  list, run nothing.
#
# The work happens in build/mutate/tree: a copy of the working tree's files
# (committed or not, so a test being fixed is the one run) and of its
# build/ trees with their times kept, so make recompiles only the file a
# mutation changes (and, after it, the same file restored).  Each result
# is one of
#   caught    the test failed (for compile/effects: the build failed with
#             a function-effects diagnostic)
#   SURVIVED  the test passed with the mutation in place
#   ERROR     the mutation does not apply (its line matches no line or
#             several, or sed changes nothing), the build failed, or the
#             test hung (MUTATE_TIMEOUT seconds): never counted as caught,
#             so a mutation cannot pass by rotting
# Each test named is first run once on the tree as it is, and must pass.
# The last line is "N caught, N survived, N errors"; the exit status
# is 0 only when every mutation run was caught.  Logs: build/mutate/logs.
# A mutation may name, in fails:, the check that must fail (an extended
# regular expression on the test's "not ok" lines); then a test that fails
# only elsewhere, a race on a loaded machine, leaves it SURVIVED.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
LIST=tests/mutate/list
M=build/mutate
S=$M/tree
LOGS=$M/logs
# A test that runs this long has hung: an error, not a catch.  The daemon
# tests take 15 minutes to fail under RealtimeSanitizer on a loaded machine.
TEST_TIMEOUT=${MUTATE_TIMEOUT:-2400}
# The rtsan build without -Wfunction-effects, which would refuse to compile
# what RealtimeSanitizer is meant to catch at run time (as rtsan-planted).
RTSAN_RUN_OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=realtime"
# sed's address delimiter: a character no regular expression here uses.
D=$(printf '\001')

only_test=
list_only=
while [ $# -gt 0 ]; do
	case $1 in
	-t) only_test=${2:?-t needs a test}; shift 2 ;;
	-l) list_only=1; shift ;;
	-*) echo "usage: $0 [-t TEST] [-l] [NAME...]" >&2; exit 2 ;;
	*) break ;;
	esac
done

# The list as one record per line: name, why, file, line, sed, test,
# separated by \037; a stanza missing a field is an error of the list.
records=$(awk -v RS= -v FS='\n' '
{
	delete f
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^#/ || $i !~ /^[a-z]+:/) continue
		k = $i; sub(/:.*/, "", k)
		v = $i; sub(/^[a-z]+:[ \t]*/, "", v)
		f[k] = v
	}
	if (!("name" in f)) next
	for (n = split("name why file line sed test", want, " "); n > 0; n--)
		if (!(want[n] in f)) {
			printf "tests/mutate/list: mutation %s has no %s:\n", \
			    f["name"], want[n] > "/dev/stderr"
			bad = 1
		}
	if (f["name"] in seen) {
		printf "tests/mutate/list: %s appears twice\n", f["name"] > "/dev/stderr"
		bad = 1
	}
	seen[f["name"]] = 1
	printf "%s\037%s\037%s\037%s\037%s\037%s\037%s\n", f["name"], \
	    f["why"], f["file"], f["line"], f["sed"], f["test"], f["fails"]
}
END { exit bad }' "$LIST") || exit 2

# The selected records.
selected=$(printf '%s\n' "$records" | awk -F '\037' -v t="$only_test" \
    -v names="$*" '
BEGIN { n = split(names, want, " "); for (i = 1; i <= n; i++) w[want[i]] = 1 }
(n == 0 || $1 in w) && (t == "" || $6 == t) { print; found[$1] = 1 }
END {
	for (k in w) if (!(k in found)) {
		printf "no mutation named %s%s\n", k, \
		    t == "" ? "" : " with test " t > "/dev/stderr"; bad = 1 }
	exit bad
}') || exit 2
if [ -z "$selected" ]; then
	echo "no mutation${only_test:+ has test $only_test}" >&2
	exit 2
fi

if [ -n "$list_only" ]; then
	printf '%s\n' "$selected" | awk -F '\037' \
	    '{ printf "%-28s %-26s %s\n", $1, $6, $2 }'
	exit 0
fi

# Builds the variants the selected tests need, here first (so the copy is
# current and make in the copy finds nothing to do), then copies.
need_rtsan=
printf '%s\n' "$selected" | cut -d "$(printf '\037')" -f 6 |
    grep -q '^rtsan/\|^compile/' && need_rtsan=1
echo "mutate: building the unmutated tree"
BLOG=$(mktemp /tmp/tidepool-mutate-build.XXXXXX)
trap 'rm -f "$BLOG"' EXIT
make -s --no-print-directory tests VARIANT=release >"$BLOG" 2>&1 ||
    { echo "mutate: the unmutated tree does not build"; cat "$BLOG"; exit 2; }
if [ -n "$need_rtsan" ]; then
	make -s --no-print-directory programs VARIANT=rtsan >>"$BLOG" \
	    2>&1 && make -s --no-print-directory programs \
	    VARIANT=rtsan-planted >>"$BLOG" 2>&1 ||
	    { echo "mutate: the rtsan builds fail"; cat "$BLOG"; exit 2; }
fi
rm -rf "$M"
mkdir -p "$S/build" "$LOGS"
# Tracked and untracked files, not ignored ones (nor tracked ones deleted
# here, which ls-files -d lists a second time), times kept.
{ git ls-files -co --exclude-standard; git ls-files -d; } | sort | uniq -u |
    tr '\n' '\0' | xargs -0 cp -p --parents -t "$S" || exit 2
for v in release rtsan rtsan-planted; do
	[ -d "build/$v" ] && cp -a "build/$v" "$S/build/"
done

export CMOCKA_MESSAGE_OUTPUT=TAP
sym=$(command -v llvm-symbolizer || true)
export RTSAN_OPTIONS="halt_on_error=1${sym:+:external_symbolizer_path=$sym}"
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1${sym:+:external_symbolizer_path=$sym}"

# build_and_run TEST LOG: 0 caught, 1 survived, 2 build error, 3 timed
# out; in $S.
build_and_run() {
	kind=${1%%/*}
	what=${1#*/}
	case $kind in
	release|plain)
		make -s --no-print-directory "build/release/tests/$what" \
		    >>"$2" 2>&1 || return 2
		[ -x "build/release/tests/$what" ] || return 2
		if [ "$kind" = plain ]; then
			env TIDEPOOL_DSP_PLAIN=1 timeout "$TEST_TIMEOUT" \
			    "build/release/tests/$what" >>"$2" 2>&1
		else
			timeout "$TEST_TIMEOUT" "build/release/tests/$what" \
			    >>"$2" 2>&1
		fi
		;;
	integration)
		[ -f "tests/integration/$what.sh" ] || return 2
		make -s --no-print-directory programs >>"$2" 2>&1 || return 2
		timeout "$TEST_TIMEOUT" sh "tests/integration/$what.sh" \
		    >>"$2" 2>&1
		;;
	rtsan)
		[ -f "tests/integration/$what.sh" ] || return 2
		make -s --no-print-directory programs VARIANT=rtsan \
		    OPT="$RTSAN_RUN_OPT" >>"$2" 2>&1 || return 2
		timeout "$TEST_TIMEOUT" sh "tests/integration/$what.sh" \
		    >>"$2" 2>&1
		;;
	compile)
		[ "$what" = effects ] || return 2
		if make -s --no-print-directory programs VARIANT=rtsan \
		    >>"$2" 2>&1; then
			return 1
		fi
		grep -q "Wfunction-effects\|must not call non-'nonblocking'" "$2"
		return $(( $? == 0 ? 0 : 2 ))
		;;
	*)
		echo "unknown test kind $kind" >>"$2"
		return 2
		;;
	esac
	case $? in
	0) return 1 ;;
	124) echo "timed out after $TEST_TIMEOUT s" >>"$2"; return 3 ;;
	*) return 0 ;;
	esac
}

began=$(date +%s)
caught=0
survived=0
errors=0
cd "$S" || exit 2
US=$(printf '\037')

# Each test once as it is: one that fails without a mutation would
# "catch" every mutation, so its mutations are errors instead.
broken=
for test in $(printf '%s\n' "$selected" | cut -d "$US" -f 6 | sort -u); do
	log="$ROOT/$LOGS/baseline-$(echo "$test" | tr / _).log"
	build_and_run "$test" "$log"
	if [ $? -ne 1 ]; then
		broken="$broken $test "
		echo "ERROR    $test fails without any mutation (see $LOGS/$(basename "$log"))"
	fi
done
while IFS="$US" read -r name why file line cmd test fails; do
	log="$ROOT/$LOGS/$name.log"
	start=$(date +%s)
	{
		echo "mutation $name: $why"
		echo "file $file, line /$line/, sed $cmd, test $test"
	} >"$log"
	result=ERROR
	reason=
	case $broken in
	*" $test "*) reason="$test fails without the mutation" ;;
	esac
	if [ -n "$reason" ]; then
		:
	elif [ ! -f "$file" ]; then
		reason="$file does not exist"
	else
		n=$(grep -cE -- "$line" "$file")
		if [ "$n" -ne 1 ]; then
			reason="its line matches $n lines of $file, not 1: retarget it"
		else
			cp -p "$file" "$ROOT/$M/orig"
			if ! sed -E -i "\\$D$line$D$cmd" "$file" 2>>"$log"; then
				reason="sed refuses '$cmd'"
			elif cmp -s "$file" "$ROOT/$M/orig"; then
				reason="sed '$cmd' changes nothing"
			else
				diff -u "$ROOT/$M/orig" "$file" | sed 's/^/| /' >>"$log"
				build_and_run "$test" "$log"
				rc=$?
				# A test that failed, but not in the check
				# named, failed for something else (a race on a
				# loaded machine): that proves nothing.
				if [ $rc -eq 0 ] && [ -n "$fails" ] &&
				    ! grep "not ok" "$log" | grep -qE -- "$fails"; then
					rc=1
					reason="the test failed, but no failing check matches /$fails/"
				fi
				case $rc in
				0) result=caught ;;
				1) result=SURVIVED ;;
				3) reason="the test timed out after $TEST_TIMEOUT s (MUTATE_TIMEOUT)" ;;
				*) reason="the build or the test is broken (see $LOGS/$name.log)" ;;
				esac
			fi
			# Restore, and make the restored file newer than the
			# objects built from the mutant, so the next build
			# takes it.
			cp "$ROOT/$M/orig" "$file"
			rm -f "$ROOT/$M/orig"
			touch "$file"
		fi
	fi
	secs=$(( $(date +%s) - start ))
	case $result in
	caught) caught=$((caught + 1)) ;;
	SURVIVED) survived=$((survived + 1)) ;;
	*) errors=$((errors + 1)) ;;
	esac
	printf '%-8s %-28s %-26s %4ds%s\n' "$result" "$name" "$test" "$secs" \
	    "${reason:+  $reason}"
	echo "result: $result${reason:+ ($reason)}" >>"$log"
done <<EOF
$selected
EOF

echo "$caught caught, $survived survived, $errors errors" \
    "in $(( ($(date +%s) - began + 30) / 60 )) min"
[ "$survived" -eq 0 ] && [ "$errors" -eq 0 ]
