#!/bin/sh
# Damaged traces, generated: copies of shared/traces/simple-kernel with
# random bytes overwritten in their stream files (seeded, so every run
# tests the same inputs), and cut at random lengths.  latrack must exit 0
# (read) or 1 (a message), never die by a signal nor trip a sanitizer.
# Uses build/asan/latrack when `make check` built it.
set -u
B=${LATRACK_BUILD:-$(dirname "$0")/../build}
T=${LATRACK_TRACES:-$(dirname "$0")/../../shared/traces}
[ -d "$T" ] || T=/work/shared/traces
L=$B/latrack
[ -x "$B/asan/latrack" ] && L=$B/asan/latrack
if [ ! -x "$L" ] || [ ! -d "$T/simple-kernel" ]; then
	if [ "${LATRACK_REQUIRE_BPF:-}" = 1 ]; then
		echo "not ok 1 - required: no $L or no traces"; echo "1..1"; exit 1
	fi
	echo "1..0 # SKIP no $L or no traces"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$(cd "$(dirname "$0")" && pwd)/lsan-babeltrace2.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
n=0
fail=0

check() { # NAME DIR
	n=$((n + 1))
	timeout 60 "$L" report "$2" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -le 1 ] && ! grep -q -e 'Sanitizer' -e 'runtime error' "$tmp/err" &&
		{ [ $rc = 0 ] || grep -q '^latrack report: ' "$tmp/err"; }; then
		echo "ok $n - $1: exit $rc"
	else
		echo "not ok $n - $1: exit $rc"
		grep -v '^ok' "$tmp/err" | head -20 | sed 's/^/# /'
		fail=1
	fi
}

# seed 13 makes libbabeltrace2 itself crash (SIGSEGV); 14 and 16 decode
# slowly; the others end in decoding errors or read through
for seed in 1 2 3 5 7 10 13 15 20 24 30; do
	perl -e '
		use strict; use File::Copy;
		my ($src, $dst, $seed, $n) = @ARGV; srand($seed);
		mkdir $dst or die; opendir(my $d, $src) or die;
		my @f = sort grep { -f "$src/$_" } readdir($d);
		for (@f) { copy("$src/$_", "$dst/$_") or die; chmod 0644, "$dst/$_"; }
		my @s = grep { $_ ne "metadata" } @f;
		for (1 .. $n) {
			my $f = "$dst/" . $s[int rand @s]; my $sz = -s $f; next unless $sz;
			open(my $h, "+<", $f) or die; binmode $h;
			seek($h, int rand $sz, 0); print $h chr(int rand 256); close $h;
		}' "$T/simple-kernel" "$tmp/m$seed" $seed $((seed % 30 + 1))
	check "random bytes, seed $seed" "$tmp/m$seed"
	rm -rf "$tmp/m$seed"
done
for cut in 4096 20000 100000; do
	cp -r "$T/simple-kernel" "$tmp/c$cut" && chmod -R u+w "$tmp/c$cut"
	for f in "$tmp/c$cut"/k_*; do
		sz=$(stat -c %s "$f")
		[ "$sz" -gt "$cut" ] && truncate -s "$cut" "$f"
	done
	check "every stream cut to $cut bytes" "$tmp/c$cut"
	rm -rf "$tmp/c$cut"
done
cp -r "$T/simple-kernel" "$tmp/meta" && chmod -R u+w "$tmp/meta"
truncate -s 100000 "$tmp/meta/metadata"
check "metadata cut short" "$tmp/meta"
echo "1..$n"
exit $fail
