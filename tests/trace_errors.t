#!/bin/sh
# `latrack report` on inputs that are not (whole) traces: a message a person
# can act on and a non-zero exit, or the readable part with a warning; never
# a crash (an exit by signal fails here).
set -u
B=${LATRACK_BUILD:-$(dirname "$0")/../build}
L=$B/latrack
T=${LATRACK_TRACES:-$(dirname "$0")/../../shared/traces}
[ -d "$T" ] || T=/work/shared/traces
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }

if [ ! -x "$L" ] || [ ! -d "$T/simple-kernel" ]; then
	if [ "${LATRACK_REQUIRE_BPF:-}" = 1 ]; then
		echo "not ok 1 - required: no $L or no traces at $T"; echo "1..1"; exit 1
	fi
	echo "1..0 # SKIP no $L or no traces at $T"
	exit 0
fi
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT

# run NAME WANT_RC PATTERN ARGS...: exit code and a pattern in stderr
run() {
	name=$1 want=$2 pat=$3
	shift 3
	timeout 60 "$L" report "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = "$want" ]; ok $? "$name: exit $want (got $rc)"
	grep -q -- "$pat" "$tmp/err"; ok $? "$name: says '$pat'"
}

run "missing path" 1 "No such file or directory" "$tmp/nope"
run "a file" 1 "not a directory" /etc/hostname
mkdir "$tmp/empty"
run "a directory without trace" 1 "no CTF trace found" "$tmp/empty"
mkdir "$tmp/bad" && echo garbage >"$tmp/bad/metadata"
run "garbage metadata" 1 "cannot read this as a CTF trace" "$tmp/bad"
run "unknown analysis" 2 "unknown analysis 'nosuch'" "$T/simple-kernel" nosuch
run "no trace given" 2 "which trace" 
run "bad duration" 2 "duration like" --min 5parsecs "$T/simple-kernel"

# a truncated stream file: the rest of the trace is reported, with a warning
cp -r "$T/simple-kernel" "$tmp/trunc" && chmod -R u+w "$tmp/trunc"
truncate -s 100000 "$tmp/trunc/k_5"
run "truncated stream" 0 "k_5: truncated or damaged" --json "$tmp/trunc" syscalls
perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>);
	exit(($d->{trace}{events} > 0 && $d->{trace}{events} < 11980 &&
	      grep { /k_5: truncated/ } @{$d->{warnings}}) ? 0 : 1)' <"$tmp/out"
ok $? "truncated stream: JSON has the events read and the warning"
want=$(babeltrace2 "$T/simple-kernel" 2>/dev/null | grep -c 'cpu_id = 5 }')
got=$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{trace}{events}' <"$tmp/out")
[ "$got" = $((11980 - want)) ]; ok $? "truncated stream: every event but CPU 5's ($got = 11980 - $want)"
ls -d "${TMPDIR:-/tmp}"/latrack-salvage-* >/dev/null 2>&1
[ $? != 0 ]; ok $? "truncated stream: no temporary directory left behind"

# every stream truncated: nothing readable, a clear error
cp -r "$T/simple-kernel" "$tmp/alltrunc" && chmod -R u+w "$tmp/alltrunc"
for f in "$tmp"/alltrunc/k_*; do truncate -s 1000 "$f"; done
run "all streams truncated" 1 "Failed to index CTF stream file" "$tmp/alltrunc"

# metadata cut short (a copy made while LTTng wrote): libbabeltrace2 alone
# would loop forever; latrack reads its complete declarations and says so
cp -r "$T/simple-kernel" "$tmp/meta" && chmod -R u+w "$tmp/meta"
truncate -s 100000 "$tmp/meta/metadata"
run "metadata cut short" 1 "metadata: cut short: read its 98304 bytes of complete packets" "$tmp/meta"
truncate -s 1000 "$tmp/meta/metadata"
run "metadata cut inside its first packet" 1 "not one packet of it is complete" "$tmp/meta"

# damaged bytes in the middle of a stream: no crash, whatever is decoded
cp -r "$T/simple-kernel" "$tmp/corrupt" && chmod -R u+w "$tmp/corrupt"
for off in 100 5000 70000 150000; do
	printf '\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377' |
		dd of="$tmp/corrupt/k_5" bs=1 seek=$off conv=notrunc 2>/dev/null
done
"$L" report "$tmp/corrupt" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -le 1 ]; ok $? "damaged stream: exit 0 or 1, not a crash (got $rc)"
[ "$rc" = 0 ] || grep -q "latrack report:" "$tmp/err"; ok $? "damaged stream: a message when it fails"

echo "1..$n"
[ "$failed" = 0 ]
