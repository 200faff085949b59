#!/bin/sh
# make bench: runs every benchmark script here and prints their tables.
# Benchmarks measure against a peer in the same run; nothing here is a
# test, and nothing fails on a slow machine.
cd "$(dirname "$0")/../.."
echo "tidepool benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for b in tests/bench/*.sh; do
	case "$(basename "$b")" in run.sh|profile.sh) continue ;; esac
	echo
	sh "$b" || echo "(benchmark $b failed)"
done
