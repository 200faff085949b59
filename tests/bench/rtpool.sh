#!/bin/sh
# Block pool against mallocs: rtpool_get + rtpool_put against malloc + free
# from glibc, jemalloc and tcmalloc, for 512-byte blocks (64 stereo float
# frames) and 4096-byte ones: one block taken and given back at once, and
# a FIFO of 32 in flight (blocks coming back through a ring); for 512-byte
# ones also bursts of 256 taken then given back (more than two magazines:
# the depot, and the mallocs' central lists, in the loop; not for 4096
# bytes, where glibc trims and faults on every burst, 0.16 ms a pair,
# which would make the run last half an hour).  One thread beside a neighbour
# streaming over 32 MiB (the same churn for every row: no malloc, no
# system call, see bench_rtpool_alloc.c), then 2 and 4 threads at once on
# one pool or heap, no churn.  Also the pool without magazines (255 blocks,
# under RTPOOL_MAG_MIN_BLOCKS: the lock-free stack alone, as before them)
# and the message pool with and without them.  jemalloc and tcmalloc are
# preloaded (LD_PRELOAD) into the whole process, so each is measured as a
# program using it would run; the benchmark checks that the allocator named
# is the one loaded.  Medians of RUNS runs, interleaved so machine noise
# falls on all alike, with the lowest and highest run beside each median.
# Then one more run of each under strace -f, apart from the timing, to
# count the system calls each timing thread makes between its two marks.
# Prints a markdown table.
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

# The configurations, one a line: NAME ARGS...
{
	echo "none --hold 0"
	for pat in "--size 512 --hold 0" "--size 512 --hold 32" \
	    "--size 512 --burst 256" "--size 4096 --hold 0" \
	    "--size 4096 --hold 32"; do
		for a in pool glibc jemalloc tcmalloc; do
			echo "$a $pat"
		done
	done
	for pat in "--hold 0" "--hold 32"; do
		echo "pool --size 512 $pat --blocks 255"
		echo "msg $pat"
		echo "msg $pat --blocks 255"
	done
	for th in 2 4; do
		for pat in "--hold 32" "--burst 256"; do
			for a in pool glibc jemalloc tcmalloc; do
				echo "$a --size 512 $pat --threads $th"
			done
		done
	done
} >"$T/configs"

# one [strace] NAME ARGS...: one run, its key=value line to stdout
one() {
	wrap=""
	if [ "$1" = strace ]; then
		wrap="strace -f -qq -o $T/trace"
		shift
	fi
	name=$1; shift
	pre=""
	[ "$name" = jemalloc ] && pre=$JE
	[ "$name" = tcmalloc ] && pre=$TC
	if [ "$name" = jemalloc ] || [ "$name" = tcmalloc ]; then
		[ -n "$pre" ] || return 0
		# shellcheck disable=SC2086
		LD_PRELOAD=$pre $wrap "$B" --alloc "$name" --pairs "$PAIRS" "$@"
	else
		# shellcheck disable=SC2086
		$wrap "$B" --alloc "$name" --pairs "$PAIRS" "$@"
	fi 2>>"$T/errors" || echo "# run failed: $name $*" >>"$T/errors"
}

i=0
while [ $i -lt "$RUNS" ]; do
	# shellcheck disable=SC2086
	while read -r cfg; do one $cfg; done <"$T/configs" >>"$T/results"
	i=$((i + 1))
done

# The system call pass: what each timing thread calls between its two
# getppid() marks (strace -f prefixes each line with the thread's id).
if command -v strace >/dev/null 2>&1; then
	while read -r cfg; do
		# shellcheck disable=SC2086
		line=$(one strace $cfg)
		[ -n "$line" ] || continue
		n=$(awk '{
			pid = $1; rest = $0; sub(/^[0-9]+ +/, "", rest)
			if (rest ~ /^getppid\(/) { inside[pid] = !inside[pid]; next }
			if (rest ~ /^<\.\.\. / || rest ~ /^(\+\+\+|---)/) next
			if (inside[pid]) n++
		} END { print n + 0 }' "$T/trace")
		echo "$line strace_syscalls=$n"
	done <"$T/configs" >"$T/syscalls"
else
	: >"$T/syscalls"
	echo "(strace not installed: no system call counts)" >>"$T/errors"
fi

echo "### Block pool against malloc: ns per get + put pair"
echo
printf '| allocator | block | pattern | threads | ns/pair | runs | p50 | p99 |'
printf ' p99.99 | max | syscalls | page faults |\n'
printf '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
# Median of each figure over the runs of each configuration, in the order
# the configurations were run; the system calls from the strace pass.
awk '
function median(key, f,    n, i, j, t, v) {
	n = cnt[key]
	for (i = 1; i <= n; i++)
		v[i] = val[key, i, f] + 0
	for (i = 2; i <= n; i++)	# insertion sort: n is small
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function range(key, f,    n, i, lo, hi, x) {
	n = cnt[key]
	for (i = 1; i <= n; i++) {
		x = val[key, i, f] + 0
		if (i == 1 || x < lo)
			lo = x
		if (i == 1 || x > hi)
			hi = x
	}
	return sprintf("%.1f-%.1f", lo, hi)
}
function keyof(    i, p) {
	delete kv
	for (i = 1; i <= NF; i++) {
		split($i, p, "=")
		kv[p[1]] = p[2]
	}
	return kv["alloc"] SUBSEP kv["size"] SUBSEP kv["hold"] SUBSEP \
	    kv["burst"] SUBSEP kv["threads"] SUBSEP kv["magazine"]
}
FILENAME == ARGV[1] {
	key = keyof()
	sys[key] = kv["strace_syscalls"]
	next
}
{
	key = keyof()
	if (!(key in cnt))
		order[++nkeys] = key
	n = ++cnt[key]
	split("batched p50 p99 p9999 max faults", fs, " ")
	for (i in fs)
		val[key, n, fs[i]] = kv[fs[i]]
	step = kv["tsc_step"]
	if (minstep == "" || step + 0 < minstep + 0)
		minstep = step
}
END {
	name["none"] = "timer only"; name["pool"] = "**rtpool**"
	name["msg"] = "**rtmsg**"
	name["glibc"] = "glibc"; name["jemalloc"] = "jemalloc"
	name["tcmalloc"] = "tcmalloc (minimal)"
	for (k = 1; k <= nkeys; k++) {
		key = order[k]
		split(key, a, SUBSEP)
		nm = name[a[1]]
		if ((a[1] == "pool" || a[1] == "msg") && a[6] == 0)
			nm = nm ", no magazines"
		if (a[1] == "none") {
			blk = "-"; pat = "-"
		} else {
			blk = a[2] " B"
			if (a[4] != 0)
				pat = "burst of " a[4]
			else if (a[3] == 0)
				pat = "1 (get, put)"
			else
				pat = a[3] " (FIFO)"
		}
		printf "| %s | %s | %s | %s | %.1f | %s | %.0f | %.0f | %.0f |" \
		    " %.0f | %s | %s |\n",
		    nm, blk, pat, a[5], median(key, "batched"),
		    range(key, "batched"), median(key, "p50"), median(key, "p99"),
		    median(key, "p9999"), median(key, "max"),
		    (key in sys) ? sys[key] : "n/a", median(key, "faults")
	}
	printf "\n%d pairs per run and thread, medians of %d runs.\n", '"$PAIRS"',
	    cnt[order[1]]
	printf "ns/pair: the median batch of about 1000 pairs, divided by "
	printf "its pairs (the timer out of the way);\nruns: the lowest and "
	printf "highest of the runs'\'' ns/pair (on the 2-vCPU VM some runs are "
	printf "slower\nthroughout while the neighbour runs, the pool'\''s more "
	printf "than tcmalloc'\''s: see the README).\n"
	printf "p50 .. max: each pair timed alone with the TSC (a burst: its "
	printf "get and its put,\nadded), the timer'\''s own cost included "
	printf "(row \"timer only\"), in steps of\n%s ns or finer on this CPU; " \
	    "with threads, over all threads'\'' pairs. max is the\n", minstep
	printf "median of the runs'\'' maxima, which every row shows, the timer "
	printf "alone included:\ninterrupts and scheduling of the machine, not "
	printf "allocator work.\n"
	printf "syscalls: made by the timing threads in their timed loops, "
	printf "counted by strace -f\nin a separate run; page faults: "
	printf "getrusage(RUSAGE_THREAD) of the timing threads.\n"
}' "$T/syscalls" "$T/results"
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
