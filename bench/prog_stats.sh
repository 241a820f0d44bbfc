#!/bin/bash
# Per-program cost of the syscall tracker, from the kernel's own BPF run
# statistics: for each latrack build given, `latrack run syscall -m 100s`
# is attached, kernel.bpf_stats_enabled=1, a loop of N getppid() runs, and
# the run_time_ns / run_cnt difference of sys_enter_btf and sys_exit_btf is
# the ns per run (clock reads of the statistics included: compare builds,
# not absolute figures).  Builds are measured in turn, ROUNDS times, and
# the medians printed with the ratio of each build's sys_exit to the
# first's.  Steadier than loop timing on a shared VM (about +-1.5 ns).
#
#   bench/prog_stats.sh [-r ROUNDS] [-n CALLS] LATRACK [LATRACK...]
#   e.g. bench/prog_stats.sh -r 5 /tmp/base/build/latrack build/latrack
#
# Needs root and bpftool.  Restores kernel.bpf_stats_enabled to 0.
set -euo pipefail

rounds=5
calls=10000000
while getopts "r:n:h" o; do
	case $o in
	r) rounds=$OPTARG ;;
	n) calls=$OPTARG ;;
	*) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r ROUNDS] [-n CALLS] LATRACK [LATRACK...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "prog_stats: needs root (bpf_stats, latrack run)" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "prog_stats: bpftool not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$tmp"' EXIT
cat >"$tmp/loop.c" <<'EOF'
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;

	for (long i = 0; i < n; i++)
		getppid();
	return 0;
}
EOF
cc -O2 -o "$tmp/loop" "$tmp/loop.c"

# "run_time_ns run_cnt" of a program of the latrack just started
stat_of() {
	bpftool prog show name "$1" 2>/dev/null | head -1 |
		sed -n 's/.*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2/p'
}

measure() { # LATRACK -> "enter_ns exit_ns"
	local l=$1 pid a1 a2 b1 b2
	"$l" run syscall -m 100s >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 50); do [ -n "$(stat_of sys_exit_btf)" ] && break; sleep 0.1; done
	sleep 0.5
	sysctl -qw kernel.bpf_stats_enabled=1
	a1=$(stat_of sys_enter_btf); b1=$(stat_of sys_exit_btf)
	"$tmp/loop" "$calls"
	a2=$(stat_of sys_enter_btf); b2=$(stat_of sys_exit_btf)
	sysctl -qw kernel.bpf_stats_enabled=0
	kill -INT $pid; wait $pid 2>/dev/null || true
	sleep 1 # its programs gone before the next one attaches
	awk -v a1="$a1" -v a2="$a2" -v b1="$b1" -v b2="$b2" 'BEGIN {
		split(a1, x); split(a2, y); split(b1, u); split(b2, v);
		printf "%.1f %.1f\n", (y[1] - x[1]) / (y[2] - x[2]), (v[1] - u[1]) / (v[2] - u[2]) }'
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "# $rounds rounds of $calls getppid() per build; ns per program run (bpf_stats)"
for r in $(seq "$rounds"); do
	i=0
	for l in "$@"; do
		m=$(measure "$l")
		echo "$m" >>"$tmp/b$i"
		echo "  round $r  build $i  sys_enter $(echo "$m" | cut -d' ' -f1)  sys_exit $(echo "$m" | cut -d' ' -f2)"
		i=$((i + 1))
	done
done
i=0
for l in "$@"; do
	e=$(cut -d' ' -f1 "$tmp/b$i" | median)
	x=$(cut -d' ' -f2 "$tmp/b$i" | median)
	[ $i = 0 ] && x0=$x
	printf 'build %d (%s): sys_enter %.1f ns, sys_exit %.1f ns (medians), sys_exit ratio to build 0: %.3f\n' \
		"$i" "$l" "$e" "$x" "$(awk -v a="$x" -v b="$x0" 'BEGIN { print a / b }')"
	i=$((i + 1))
done
