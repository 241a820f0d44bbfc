#!/bin/sh
# The Prometheus output on synthetic snapshots (tests/prom/prom_render.c).
B=${LATRACK_BUILD:-build}
if [ ! -x "$B/tests/prom_render" ]; then
	echo "1..1"; echo "not ok 1 - $B/tests/prom_render not built (make $B/tests/prom_render)"; exit 1
fi
exec "$B/tests/prom_render"
