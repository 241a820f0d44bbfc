#!/bin/sh
# LTTng-UST end to end: the test builds a small application that emits
# latrack_test:begin / latrack_test:end with known delays (one pair nested
# in another of the same key), records it with LTTng (offline, with buffers
# small enough that a burst afterwards gets events discarded), and checks:
#   - --pair finds each delay (at least the sleep, at most 20 ms more) and
#     pairs the nested begins innermost first;
#   - the discarded events latrack reports equal the sum babeltrace2's CLI
#     warns about, and are not zero;
#   - a stream cut in the middle of a packet is read up to its last
#     complete packet, with a warning;
#   - live: `latrack report --live` on an lttng-relayd session on loopback
#     reports the pairs while the session runs;
#   - live: `latrack top --batch --live` on a session of its own refreshes
#     in trace time and ends, exit 0, with END, when the session goes (a
#     user-space session: no classes; no kernel tracer here).
# Skips loudly (and fails under LATRACK_REQUIRE_LTTNG=1) without LTTng.
set -u
# Root's session daemon is machine-wide (/var/run/lttng): another test
# run could reuse or stop ours, or we theirs.  Run in a mount namespace of
# our own with a private /var/run/lttng when the system allows it.
if [ -z "${LATRACK_LTTNG_NS:-}" ] && [ "$(id -u)" = 0 ] &&
	unshare -m --propagation private true 2>/dev/null; then
	exec unshare -m --propagation private env LATRACK_LTTNG_NS=1 sh "$0" "$@"
fi
if [ "${LATRACK_LTTNG_NS:-}" = 1 ]; then
	mkdir -p /var/run/lttng && mount -t tmpfs tmpfs /var/run/lttng || exit 1
fi
B=${LATRACK_BUILD:-$(dirname "$0")/../build}
L=$B/latrack
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
skip_all() {
	if [ "${LATRACK_REQUIRE_LTTNG:-0}" = 1 ] || [ "${LATRACK_REQUIRE_BPF:-0}" = 1 ]; then
		echo "not ok 1 - required: $1"; echo "1..1"; exit 1
	fi
	echo "1..0 # SKIP $1"; exit 0
}

for t in lttng lttng-sessiond lttng-relayd babeltrace2 cc perl; do
	command -v $t >/dev/null 2>&1 || skip_all "$t is not installed (scripts/packages/trace.list)"
done
[ -x "$L" ] || skip_all "no $L"
[ -e /usr/include/lttng/tracepoint.h ] || [ -e /usr/include/x86_64-linux-gnu/lttng/tracepoint.h ] ||
	skip_all "no LTTng-UST headers (liblttng-ust-dev)"

tmp=$(mktemp -d)
sess=latrack$$
sessd_pid=
relayd_pid=
live_pid=
top_pid=
cleanup() {
	lttng destroy "$sess" >/dev/null 2>&1
	lttng destroy "${sess}live" >/dev/null 2>&1
	lttng destroy "${sess}w" >/dev/null 2>&1
	lttng destroy "${sess}top" >/dev/null 2>&1
	[ -n "$live_pid" ] && kill "$live_pid" 2>/dev/null
	[ -n "$top_pid" ] && kill "$top_pid" 2>/dev/null
	[ -n "$relayd_pid" ] && kill "$relayd_pid" 2>/dev/null
	[ -n "$sessd_pid" ] && kill "$sessd_pid" 2>/dev/null && wait "$sessd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# the application
cat >"$tmp/tp.h" <<'EOF'
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER latrack_test
#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./tp.h"
#if !defined(TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define TP_H
#include <lttng/tracepoint.h>
LTTNG_UST_TRACEPOINT_EVENT(latrack_test, begin,
	LTTNG_UST_TP_ARGS(int, id, const char *, kind),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(int, id, id) lttng_ust_field_string(kind, kind)))
LTTNG_UST_TRACEPOINT_EVENT(latrack_test, end,
	LTTNG_UST_TP_ARGS(int, id, const char *, kind),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(int, id, id) lttng_ust_field_string(kind, kind)))
#endif
#include <lttng/tracepoint-event.h>
EOF
cat >"$tmp/app.c" <<'EOF'
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "tp.h"
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void ms(int n)
{
	struct timespec d = { n / 1000, (long)(n % 1000) * 1000000 };

	nanosleep(&d, NULL);
}

/* ids 0..4: 10, 20, 30, 40, 50 ms; id 100: 40 ms holding a nested 10 ms;
 * then argv[1] spam begins (ids from 1000000) to overflow the buffers. */
static void spin_us(int us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < us * 1000L);
}

int main(int argc, char **argv)
{
	int spam = argc > 1 ? atoi(argv[1]) : 0;

	if (argc > 2) { /* "shift": 3000 fast pairs, then 3000 of 20 us */
		for (int i = 0; i < 6000; i++) {
			lttng_ust_tracepoint(latrack_test, begin, i, "shift");
			if (i >= 3000)
				spin_us(20);
			lttng_ust_tracepoint(latrack_test, end, i, "shift");
		}
		return 0;
	}

	for (int i = 0; i < 5; i++) {
		lttng_ust_tracepoint(latrack_test, begin, i, "req");
		ms((i + 1) * 10);
		lttng_ust_tracepoint(latrack_test, end, i, "req");
	}
	lttng_ust_tracepoint(latrack_test, begin, 100, "outer");
	ms(10);
	lttng_ust_tracepoint(latrack_test, begin, 100, "inner");
	ms(10);
	lttng_ust_tracepoint(latrack_test, end, 100, "inner");
	ms(20);
	lttng_ust_tracepoint(latrack_test, end, 100, "outer");
	ms(200); /* let the consumer take the pairs before the burst */
	for (int i = 0; i < spam; i++)
		lttng_ust_tracepoint(latrack_test, begin, 1000000 + i, "spam");
	return 0;
}
EOF
(cd "$tmp" && cc -O1 -I. -o app app.c -llttng-ust -ldl) 2>"$tmp/cc.err"
ok $? "the LTTng-UST test application builds" || { cat "$tmp/cc.err"; echo "1..$n"; exit 1; }

# a session daemon: ours unless one runs already (root's is system-wide)
if ! lttng list >/dev/null 2>&1; then
	lttng-sessiond >"$tmp/sessiond.log" 2>&1 &
	sessd_pid=$!
	i=0
	while ! lttng list >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
fi
lttng list >/dev/null 2>&1 || skip_all "lttng-sessiond does not start here"

# ---- offline -------------------------------------------------------------
lttng create "$sess" --output="$tmp/trace" >/dev/null &&
	lttng enable-channel -u ch --subbuf-size=4096 --num-subbuf=2 -s "$sess" >/dev/null &&
	lttng enable-event -u -c ch 'latrack_test:*' -s "$sess" >/dev/null &&
	lttng start "$sess" >/dev/null
ok $? "an LTTng session records"
"$tmp/app" 200000
lttng stop "$sess" >/dev/null 2>&1
lttng destroy "$sess" >/dev/null 2>&1

"$L" report --json "$tmp/trace" --pair 'req=latrack_test:begin..latrack_test:end:id' \
	>"$tmp/off.json" 2>"$tmp/off.err"
ok $? "latrack report --pair on the recorded trace exits 0"

want_disc=$(babeltrace2 "$tmp/trace" 2>&1 >/dev/null |
	perl -ne '$s += $1 if /Tracer discarded (\d+) events?\b/; END { print $s // 0 }')
perl -MJSON::PP -e '
	local $/; my $d = decode_json(<STDIN>); my $w = shift;
	my $p = $d->{pairs}[0];
	my @fail;
	push @fail, "discarded $d->{discarded}{events} != babeltrace2 $w" if $d->{discarded}{events} != $w;
	push @fail, "no discarded events (the burst should overflow)" if !$w;
	push @fail, "count $p->{count} != 7" if $p->{count} != 7;
	# slowest first: 50, 40 (id 4), 40 (id 100 outer), 30, 20, 10 (x2)
	my @want = ([50, "id=4"], [40, undef], [40, undef], [30, "id=2"], [20, "id=1"]);
	for my $i (0 .. $#want) {
		my $s = $p->{slowest}[$i];
		my $ms = $s->{latency_ns} / 1e6;
		push @fail, "slowest #$i: $ms ms, want $want[$i][0]..+20"
			if $ms < $want[$i][0] || $ms > $want[$i][0] + 20;
		push @fail, "slowest #$i key $s->{key}, want $want[$i][1]"
			if defined $want[$i][1] && $s->{key} ne $want[$i][1];
	}
	my @k = sort map { $_->{key} } @{$p->{slowest}}[1, 2];
	push @fail, "the 40 ms pairs are @k, want id=100 and id=3" if "@k" ne "id=100 id=3";
	print map { "# $_\n" } @fail;
	exit(@fail ? 1 : 0);' "$want_disc" <"$tmp/off.json"
ok $? "pairs: 7 delays as slept; discarded events = babeltrace2's sum ($want_disc)"

# windows: a latency shift in the middle of a trace gives a change record
lttng create "${sess}w" --output="$tmp/shift" >/dev/null &&
	lttng enable-channel -u big --subbuf-size=1M --num-subbuf=8 -s "${sess}w" >/dev/null &&
	lttng enable-event -u -c big 'latrack_test:*' -s "${sess}w" >/dev/null &&
	lttng start "${sess}w" >/dev/null &&
	"$tmp/app" 0 shift && lttng stop "${sess}w" >/dev/null 2>&1
lttng destroy "${sess}w" >/dev/null 2>&1
"$L" report --json "$tmp/shift" --pair 'shift=latrack_test:begin..latrack_test:end:id' windows \
	--slot 1ms --recent 5ms --baseline 50ms >"$tmp/shift.json" 2>"$tmp/shift.err"
perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>); my $w = $d->{windows};
	my $p = $d->{pairs}[0];
	print "# pairs: $p->{count}, discarded: $d->{discarded}{events}; changes: ",
		scalar(@{$w->{changes}}), "\n";
	print "# $_->{text}\n" for @{$w->{changes}};
	my @rose = grep { $_->{class} eq "shift" && grep({ $_->{moved} == 1 &&
		$_->{to_ns} >= 15000 && $_->{from_ns} < 10000 } @{$_->{quantiles}}) } @{$w->{changes}};
	exit($p->{count} == 6000 && @rose ? 0 : 1)' <"$tmp/shift.json"
ok $? "windows: the shift from fast pairs to 20 us ones is a change record (a quantile rose)" ||
	{ head -c 600 "$tmp/shift.json" | sed 's/^/# /'; sed 's/^/# stderr: /' "$tmp/shift.err" | head; }

# nested begins of one key pair innermost first: the inner 10 ms, the outer 40 ms
"$L" report --json "$tmp/trace" --pair 'n=latrack_test:begin..latrack_test:end:id' \
	--min 5ms --max 45ms --limit 20 >"$tmp/nest.json" 2>/dev/null
perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>);
	my @n = map { sprintf "%d", $_->{latency_ns} / 1e7 } grep { $_->{key} eq "id=100" } @{$d->{pairs}[0]{slowest}};
	print "# id=100 delays (x10 ms): @n\n";
	exit("@n" eq "4 1" ? 0 : 1)' <"$tmp/nest.json"
ok $? "nested begins of one key: inner pair 10 ms, outer 40 ms" || head -c 800 "$tmp/nest.json" | sed 's/^/# /'

# a stream cut inside its last packet: read to the last complete one
cp -r "$tmp/trace" "$tmp/cut"
f=$(find "$tmp/cut" -name 'ch_*' ! -name '*.idx' -type f -size +8k | head -1)
if [ -n "$f" ]; then
	sz=$(stat -c %s "$f")
	truncate -s $((sz - 1000)) "$f"
	"$L" report "$tmp/cut" --pair 'req=latrack_test:begin..latrack_test:end:id' >"$tmp/cut.out" 2>&1
	rc=$?
	[ $rc = 0 ] && grep -q "read up to its last complete packet" "$tmp/cut.out"
	ok $? "a stream cut mid-packet: read to its last complete packet, with a warning (exit $rc)" ||
		{ ls -lR "$tmp/cut" | sed 's/^/# /'; head -5 "$tmp/cut.out" | sed 's/^/# /'; }
else
	ok 1 "a stream of several packets to cut"
fi

# ---- live ----------------------------------------------------------------
# a relay daemon on three free loopback ports; ready once all three listen
# (a fixed sleep raced a slow first start on a fresh machine)
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
base=
for attempt in 1 2 3 4 5; do
	b=$((20000 + (RANDOM * 7 + $$ + attempt * 1009) % 40000))
	listening $b || listening $((b + 1)) || listening $((b + 2)) && continue
	lttng-relayd -C tcp://127.0.0.1:$b -D tcp://127.0.0.1:$((b + 1)) \
		-L tcp://127.0.0.1:$((b + 2)) -o "$tmp/relay" >"$tmp/relayd.log" 2>&1 &
	relayd_pid=$!
	i=0
	while kill -0 $relayd_pid 2>/dev/null && [ $i -lt 100 ]; do
		listening $b && listening $((b + 1)) && listening $((b + 2)) && break
		sleep 0.1
		i=$((i + 1))
	done
	if listening $b && listening $((b + 1)) && listening $((b + 2)); then
		base=$b
		break
	fi
	echo "# lttng-relayd on ports $b-$((b + 2)) did not listen (attempt $attempt):"
	sed 's/^/#   /' "$tmp/relayd.log" | tail -5
	kill $relayd_pid 2>/dev/null
	wait $relayd_pid 2>/dev/null
	relayd_pid=
done
[ -n "$base" ] || { echo "# no lttng-relayd after 5 attempts"; base=1; }
lttng create "${sess}live" --live=100000 --set-url=net://127.0.0.1:$base:$((base + 1)) >/dev/null &&
	lttng enable-event -u 'latrack_test:*' -s "${sess}live" >/dev/null &&
	lttng start "${sess}live" >/dev/null
ok $? "a live session streams to lttng-relayd on loopback" ||
	sed 's/^/# relayd: /' "$tmp/relayd.log" | tail -10
host=$(hostname)
"$L" report --json --live "net://127.0.0.1:$((base + 2))/host/$host/${sess}live" -r 0.5 \
	--pair 'req=latrack_test:begin..latrack_test:end:id' >"$tmp/live.json" 2>"$tmp/live.err" &
live_pid=$!
sleep 1
"$tmp/app" 0
# wait (at most 10 s) for a refresh that saw all 7 pairs, while recording
i=0
while [ $i -lt 40 ]; do
	grep -q '"count": 7,' "$tmp/live.json" 2>/dev/null && break
	sleep 0.25
	i=$((i + 1))
done
grep -q '"count": 7,' "$tmp/live.json"
ok $? "live: a refresh reports the 7 pairs while the session runs"
lttng stop "${sess}live" >/dev/null 2>&1
lttng destroy "${sess}live" >/dev/null 2>&1
# the session is gone: latrack prints its last report and ends
i=0
while kill -0 "$live_pid" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
if kill -0 "$live_pid" 2>/dev/null; then
	ok 1 "live: latrack ends when the session is destroyed"
else
	wait "$live_pid"
	ok $? "live: latrack ends, exit 0, when the session is destroyed"
fi
live_pid=
perl -MJSON::PP -e 'local $/; my $t = <STDIN>; my @docs = grep { /\S/ } split /\n(?=\{"trace")/, $t;
	my $d = decode_json($docs[-1]); my $p = $d->{pairs}[0];
	my $ok = $p->{count} == 7 && $p->{slowest}[0]{latency_ns} >= 50e6 && $p->{slowest}[0]{latency_ns} < 70e6;
	print "# ", scalar(@docs), " reports; last: count $p->{count}, slowest $p->{slowest}[0]{latency_ns} ns\n";
	exit($ok ? 0 : 1)' <"$tmp/live.json"
ok $? "live: every refresh is one JSON document; the last has the 7 pairs, slowest 50 ms"
[ -s "$tmp/live.err" ] && sed 's/^/# stderr: /' "$tmp/live.err" | head -5

# latrack top --live on a session of its own (a session takes one viewer):
# a user-space session gives it no kernel events to measure (no classes),
# but the live path end to end: refreshes in trace time as the relay
# sends, END when the session is destroyed, exit 0.
# (trace_asan.t runs this file with the ASan build, which is `latrack
# report` only: top is covered by the plain run.)
if "$L" top --help >/dev/null 2>&1; then
	lttng create "${sess}top" --live=100000 --set-url=net://127.0.0.1:$base:$((base + 1)) >/dev/null &&
		lttng enable-event -u 'latrack_test:*' -s "${sess}top" >/dev/null &&
		lttng start "${sess}top" >/dev/null
	"$L" top --batch --live "net://127.0.0.1:$((base + 2))/host/$host/${sess}top" -d 50ms \
		>"$tmp/top.out" 2>"$tmp/top.err" &
	top_pid=$!
	sleep 1
	"$tmp/app" 0
	sleep 1
	lttng stop "${sess}top" >/dev/null 2>&1
	lttng destroy "${sess}top" >/dev/null 2>&1
	i=0
	while kill -0 "$top_pid" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
	if kill -0 "$top_pid" 2>/dev/null; then
		kill "$top_pid" 2>/dev/null
		wait "$top_pid" 2>/dev/null
		ok 1 "live: latrack top ends when the session is destroyed"
	else
		wait "$top_pid"
		ok $? "live: latrack top ends, exit 0, when the session is destroyed" ||
			sed 's/^/# top stderr: /' "$tmp/top.err" | head -5
	fi
	top_pid=
	# the app's events span about 0.2 s of trace time: a refresh per 50 ms
	# (the title ends with the session's name: the last 32 bytes of the URL)
	refreshes=$(grep -c "^latrack top  trace .*/${sess}top " "$tmp/top.out")
	[ "$refreshes" -ge 3 ] && [ "$(grep -c '  END  ' "$tmp/top.out")" = 1 ] &&
		grep "^latrack top  trace .*/${sess}top " "$tmp/top.out" | tail -1 | grep -q '  END  '
	ok $? "live: latrack top refreshed $refreshes times in trace time, END on the last only" ||
		{ grep '^latrack top' "$tmp/top.out" | head -5 | sed 's/^/# /'; sed 's/^/# top stderr: /' "$tmp/top.err" | head -5; }
else
	n=$((n + 1)); echo "ok $n # skip $L has no top (the ASan build is latrack report only)"
	n=$((n + 1)); echo "ok $n # skip $L has no top (the ASan build is latrack report only)"
fi

# --live-wait on a session that does not exist: waits; ^C ends it with a report
"$L" report --json --live-wait --live "net://127.0.0.1:$((base + 2))/host/$host/nosuch$$" \
	--pair 'req=latrack_test:begin..latrack_test:end:id' >"$tmp/wait.json" 2>"$tmp/wait.err" &
live_pid=$!
sleep 1.5
kill -0 "$live_pid" 2>/dev/null
ok $? "live: --live-wait waits for a session that does not exist yet"
kill -INT "$live_pid"
wait "$live_pid"
rc=$?
live_pid=
[ $rc = 0 ] && grep -q '^{"trace"' "$tmp/wait.json"
ok $? "live: ^C ends --live-wait with exit 0 and a report (exit $rc)"

echo "1..$n"
[ "$failed" = 0 ]
