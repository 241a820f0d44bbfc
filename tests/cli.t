#!/bin/sh
# The latrack program: help, errors, and the demo's reports against its
# own summary line.
B=${LATRACK_BUILD:-build}
L="$B/latrack"
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

"$L" --help | grep -q '^Commands:'; t $? "latrack --help lists the commands"
"$L" nosuchcmd >/dev/null 2>&1; [ $? = 2 ]; t $? "unknown command exits 2"
"$L" demo --threshold 5parsecs >/dev/null 2>&1; [ $? = 2 ]; t $? "bad duration exits 2"
"$L" demo --help | grep -q 'Example'; t $? "demo --help has an example"

out=$(mktemp)
"$L" demo -j 2 -n 600 --threshold 5ms --timeout 30ms --stall 60ms >"$out"
t $? "demo runs"
slow=$(grep -c '^SLOW' "$out"); stuck=$(grep -c '^STUCK' "$out")
sum=$(tail -1 "$out")
echo "# $sum"
echo "$sum" | grep -q "requests 1200, slow $slow, stuck $stuck, unmatched 0, dropped 0"
t $? "summary counts equal the reported lines (slow $slow, stuck $stuck)"
[ "$stuck" -gt 0 ] && [ "$slow" -ge "$stuck" ]; t $? "stalls (60ms) were reported stuck (30ms) and slow"
# The contract: a slow end says "reported stuck before" exactly when its
# delay exceeded the 30 ms timeout (durations print as "N.N ms" or "N.NN s").
bad=$(awk '/^SLOW/ { v = $5; u = $6; ms = (u == "s") ? v * 1000 : (u == "ms" ? v : v / 1000);
	stuck = ($0 ~ /reported stuck before/);
	if (ms > 29.9 && ms < 30.1) next; if ((ms > 30) != stuck) n++ } END { print n + 0 }' "$out")
[ "$bad" = 0 ]; t $? "stuck-before flag matches delay > timeout on every slow line"
rm -f "$out"
echo "1..$n"
exit $fail
