#!/bin/sh
# Block pool against mallocs: rtpool_get + rtpool_put against malloc + free
# from glibc, jemalloc and tcmalloc, for 512-byte blocks (64 stereo float
# frames) and 4096-byte ones, each both as an immediate get-and-put of one
# block and as a FIFO of 32 blocks in flight (blocks coming back through a
# ring), while a second thread churns the heap.  jemalloc and tcmalloc are
# preloaded (LD_PRELOAD) into the whole process, so each is measured as a
# program using it would run; the benchmark checks that the allocator named
# is the one loaded.  Medians of RUNS runs, interleaved so machine noise
# falls on all alike.  Prints a markdown table.
RUNS=${RUNS:-5}
PAIRS=${PAIRS:-1000000}
BIN=${BIN:-build/release}
B=$BIN/bench/bench_rtpool_alloc
T=$(mktemp -d /tmp/tidepool-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

if [ ! -x "$B" ]; then
	echo "rtpool.sh: $B is missing: run make benches first" >&2
	exit 1
fi
libpath() {	# the path ldconfig knows for a library soname, or nothing
	ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; exit }'
}
JE=$(libpath libjemalloc.so.2)
TC=$(libpath libtcmalloc_minimal.so.4)

# one NAME PRELOAD ARGS...: one run, its key=value line appended to results
one() {
	name=$1; pre=$2; shift 2
	if [ -n "$pre" ]; then
		LD_PRELOAD=$pre "$B" --alloc "$name" --pairs "$PAIRS" "$@"
	else
		"$B" --alloc "$name" --pairs "$PAIRS" "$@"
	fi >>"$T/results" 2>>"$T/errors" ||
	    echo "# run failed: $name $*" >>"$T/errors"
}

i=0
while [ $i -lt "$RUNS" ]; do
	one none ""
	for hold in 0 32; do
		for size in 512 4096; do
			one pool "" --size $size --hold $hold
			one glibc "" --size $size --hold $hold
			[ -n "$JE" ] && one jemalloc "$JE" --size $size --hold $hold
			[ -n "$TC" ] && one tcmalloc "$TC" --size $size --hold $hold
		done
	done
	i=$((i + 1))
done

echo "### Block pool against malloc: ns per get + put pair, heap churning"
echo
printf '| allocator | block | in flight | ns/pair | p50 | p99 | p99.99 | max |'
printf ' syscalls | page faults |\n'
printf '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n'
# Median of each figure over the runs of each (alloc, size, hold), in the
# order the runs were made.
awk '
function median(key, f,    n, i, j, t, v) {
	n = cnt[key]
	for (i = 1; i <= n; i++) {
		if (val[key, i, f] == "n/a")
			return "n/a"
		v[i] = val[key, i, f] + 0
	}
	for (i = 2; i <= n; i++)	# insertion sort: n is small
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
	delete kv
	for (i = 1; i <= NF; i++) {
		split($i, p, "=")
		kv[p[1]] = p[2]
	}
	key = kv["alloc"] SUBSEP kv["size"] SUBSEP kv["hold"]
	if (!(key in cnt))
		order[++nkeys] = key
	n = ++cnt[key]
	split("batched p50 p99 p9999 max faults syscalls", fs, " ")
	for (i in fs)
		val[key, n, fs[i]] = kv[fs[i]]
	step = kv["tsc_step"]
}
END {
	name["none"] = "timer only"; name["pool"] = "**rtpool**"
	name["glibc"] = "glibc"; name["jemalloc"] = "jemalloc"
	name["tcmalloc"] = "tcmalloc (minimal)"
	for (k = 1; k <= nkeys; k++) {
		key = order[k]
		split(key, a, SUBSEP)
		if (a[1] == "none") {
			blk = "-"; fl = "-"
		} else {
			blk = a[2] " B"
			fl = a[3] == 0 ? "1 (get, put)" : a[3] " (FIFO)"
		}
		printf "| %s | %s | %s | %.1f | %.0f | %.0f | %.0f | %.0f |" \
		    " %s | %s |\n",
		    name[a[1]], blk, fl, median(key, "batched"),
		    median(key, "p50"), median(key, "p99"),
		    median(key, "p9999"), median(key, "max"),
		    median(key, "syscalls"), median(key, "faults")
	}
	printf "\n%d pairs per run, medians of %d runs.\n", '"$PAIRS"',
	    cnt[order[1]]
	printf "ns/pair: the median batch of 1000 pairs, divided by 1000 "
	printf "(the timer out of the way).\n"
	printf "p50 .. max: each pair timed alone with the TSC, the "
	printf "timer'\''s own cost included\n(row \"timer only\"), "
	printf "in steps of %s ns on this CPU; max is the median of the\n", step
	printf "runs'\'' maxima, which every row shows, the timer alone "
	printf "included: interrupts and\nscheduling of the machine, not "
	printf "allocator work.\n"
	printf "syscalls (perf, raw_syscalls:sys_enter) and page faults "
	printf "(getrusage RUSAGE_THREAD):\nthe timing thread'\''s, over "
	printf "both passes.\n"
}' "$T/results"
if [ -z "$JE" ] || [ -z "$TC" ]; then
	echo
	[ -z "$JE" ] && echo "(jemalloc not installed: libjemalloc2)"
	[ -z "$TC" ] && echo "(tcmalloc not installed: libgoogle-perftools4)"
fi
if [ -s "$T/errors" ]; then
	echo
	sed 's/^/    /' "$T/errors"
fi
exit 0
