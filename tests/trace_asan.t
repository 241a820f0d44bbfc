#!/bin/sh
# The trace tests again, against latrack built with ASan and UBSan
# (build/asan/latrack, `make check` builds it): a trace is outside input,
# so every path of the reader and the analyses runs under the sanitizers.
# A sanitizer report fails the program (halt_on_error), hence the test.
B=${LATRACK_BUILD:-$(dirname "$0")/../build}
dir=$(dirname "$0")
if [ ! -x "$B/asan/latrack" ]; then
	if [ "${LATRACK_REQUIRE_BPF:-}" = 1 ]; then
		echo "not ok 1 - required: no $B/asan/latrack (make check builds it)"; echo "1..1"; exit 1
	fi
	echo "1..0 # SKIP no $B/asan/latrack (make check builds it)"
	exit 0
fi
n=0
fail=0
for t in trace_syscalls trace_pairs trace_errors trace_sched_irq_io trace_ust svg_report; do
	n=$((n + 1))
	out=$(LATRACK_BUILD="$B/asan" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$dir/$t.t" 2>&1)
	rc=$?
	if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -q -e '^not ok' -e 'runtime error' -e 'Sanitizer'; then
		echo "ok $n - $t under ASan/UBSan"
	else
		echo "not ok $n - $t under ASan/UBSan (exit $rc)"
		printf '%s\n' "$out" | grep -v '^ok' | sed 's/^/# /' | head -30
		fail=1
	fi
done
echo "1..$n"
exit $fail
