#!/bin/sh
# The tracker tests under valgrind memcheck: no invalid access, no leak.
# (A smaller stress run: valgrind serialises threads and is ~50x slower.)
B=${LATRACK_BUILD:-build}
echo "1..1"
if ! command -v valgrind >/dev/null; then
	if [ "${LATRACK_REQUIRE_BPF:-}" = 1 ]; then
		echo "not ok 1 - valgrind missing (scripts/deps installs it)"; exit 1
	fi
	echo "ok 1 # SKIP valgrind not installed"; exit 0
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
