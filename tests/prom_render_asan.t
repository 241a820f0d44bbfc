#!/bin/sh
# tests/prom/prom_render.c under ASan/UBSan, leaks checked at exit.
B=${LATRACK_BUILD:-build}
if [ ! -x "$B/asan/tests/prom_render" ]; then
	echo "1..1"; echo "not ok 1 - $B/asan/tests/prom_render not built"; exit 1
fi
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	exec "$B/asan/tests/prom_render"
