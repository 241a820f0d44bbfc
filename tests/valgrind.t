#!/bin/sh
# The tracker tests under valgrind memcheck: no invalid access, no leak.
# (A smaller stress run: valgrind serialises threads and is ~50x slower.)
# Then the trace analyses on a real trace: no read of uninitialised memory
# (an unknown waker once found an empty, uninitialised thread slot).
B=${LATRACK_BUILD:-build}
echo "1..2"
if ! command -v valgrind >/dev/null; then
	if [ "${LATRACK_REQUIRE_BPF:-}" = 1 ]; then
		echo "not ok 1 - valgrind missing (scripts/deps installs it)"; echo "not ok 2"; exit 1
	fi
	echo "ok 1 # SKIP valgrind not installed"; echo "ok 2 # SKIP valgrind not installed"; exit 0
fi
log=$(mktemp)
if LT_STRESS_OPS=3000 valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect "$B/tests/test_tracker" >"$log" 2>&1 &&
	grep -q '^1\.\.' "$log" && ! grep -q '^not ok' "$log"; then
	echo "ok 1 - test_tracker clean under valgrind memcheck"
else
	echo "not ok 1 - test_tracker under valgrind"
	sed 's/^/# /' "$log" | tail -40
fi
rm -f "$log"
traces=${LATRACK_TRACES:-$(dirname "$0")/../../shared/traces}
[ -d "$traces" ] || traces=/work/shared/traces
log=$(mktemp)
if valgrind -q --error-exitcode=99 "$B/latrack" report "$traces/simple-kernel" syscalls sched irq io >/dev/null 2>"$log"; then
	echo "ok 2 - latrack report (syscalls, sched, irq, io) clean under valgrind memcheck"
else
	echo "not ok 2 - latrack report under valgrind"
	sed 's/^/# /' "$log" | tail -40
fi
rm -f "$log"
