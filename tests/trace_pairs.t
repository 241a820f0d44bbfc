#!/usr/bin/perl
# `latrack report --pair` on the real user-space trace cat-kern-ust/cat-ust
# (lttng_ust_cyg_profile:func_entry -> func_exit, keyed by the function's
# address; the trace has no vtid context), checked against figures computed
# here from babeltrace2's text output: a stack of begins per key (nested
# calls of one function pair innermost first), every delay, then count,
# min, max, mean, stddev, over-threshold count and the slowest five.
use strict;
use warnings;
no warnings 'portable'; # 64-bit addresses through hex()
use JSON::PP;
use File::Basename;
use lib dirname(__FILE__) . '/lib';
use TraceTest;

my $dir = "$traces/cat-kern-ust/cat-ust";


if (!-d $dir || !-x $latrack || system("babeltrace2 --version >/dev/null 2>&1") != 0) {
	skip_all("no $dir, no $latrack or no babeltrace2");
}

# independent model
my (%stack, @d, @top);
my ($unmatched, $nested) = (0, 0);
open(my $bt, '-|', 'babeltrace2', '--clock-cycles', $dir) or die;
while (my $l = <$bt>) {
	my ($ts, $ev, $addr) = $l =~ /^\[(\d+)\] \(\S+\) \S+ lttng_ust_cyg_profile:(func_entry|func_exit): .* addr = (0x[0-9A-F]+)/
		or next;
	$ts += 0;
	$addr = hex($addr);
	if ($ev eq 'func_entry') {
		$nested++ if @{$stack{$addr} // []};
		push @{$stack{$addr}}, $ts;
	} elsif (@{$stack{$addr} // []}) {
		my $b = pop @{$stack{$addr}};
		push @d, $ts - $b;
		push @top, [$ts - $b, $b, $addr];
	} else {
		$unmatched++;
	}
}
close($bt);
my $never = 0;
$never += @{$stack{$_}} for keys %stack;
my ($sum, $sq, $min, $max) = (0, 0, undef, undef);
for (@d) { $sum += $_; $sq += $_ * $_; $min = $_ if !defined $min || $_ < $min; $max = $_ if !defined $max || $_ > $max; }
my $mean = $sum / @d;
my $sd = sqrt(($sq - $sum * $sum / @d) / (@d - 1));
my $over = grep { $_ > 100_000 } @d;
@top = sort { $b->[0] <=> $a->[0] || $a->[1] <=> $b->[1] } @top;

my $spec = 'func=lttng_ust_cyg_profile:func_entry..lttng_ust_cyg_profile:func_exit:addr';
open(my $p, '-|', $latrack, 'report', '--json', $dir, '--pair', $spec,
     '--threshold', 'func=100us', '--limit', 5) or die;
my $out = do { local $/; <$p> };
close($p);
ok($? == 0, "latrack report --pair exits 0");
my $j = eval { decode_json($out) };
ok($j, "valid JSON") or print "# $@\n";
my $r = $j->{pairs}[0];
is($r->{name}, 'func', "pair name");
is($r->{count}, scalar(@d), "pairs: count");
is($r->{min_ns}, $min, "pairs: min ns");
is($r->{max_ns}, $max, "pairs: max ns");
near($r->{avg_ns}, $mean, 1, "pairs: mean ns");
near($r->{stddev_ns}, $sd, 1, "pairs: stddev ns");
is($r->{over_threshold}, $over, "pairs: over 100 us");
is($r->{never_ended}, $never, "pairs: never-ended begins");
is($r->{unmatched_ends}, $unmatched, "pairs: ends without a begin");
is($r->{missing_key}, 0, "pairs: every event has the key");
print "# $nested begins nested in an open begin of the same function\n";
for my $i (0 .. 4) {
	my $g = $r->{slowest}[$i];
	is(($g->{latency_ns} // '') . " " . ($g->{key} // ''),
	   "$top[$i][0] addr=$top[$i][2] (" . sprintf("%#x", $top[$i][2]) . ")",
	   "pairs: slowest #" . ($i + 1) . ": latency and key");
	is(($g->{end_ns} // 0) - ($g->{begin_ns} // 0), $top[$i][0],
	   "pairs: slowest #" . ($i + 1) . ": end - begin = latency");
}

# a key field the events lack is reported, not silently empty
open($p, '-|', $latrack, 'report', '--json', $dir, '--pair',
     'fv=lttng_ust_cyg_profile:func_entry..lttng_ust_cyg_profile:func_exit:vtid,addr') or die;
$out = do { local $/; <$p> };
close($p);
$j = eval { decode_json($out) };
is($j->{pairs}[0]{missing_key}, 2 * 849, "a key field absent from the trace (vtid): every event counted as missing it");
is($j->{pairs}[0]{count}, 0, "... and nothing paired");

# malformed specs
for my $bad ('nofields=a..b', 'x=..b:f', '=a..b:f', 'x=a:f') {
	system("$latrack report $dir --pair '$bad' >/dev/null 2>&1");
	is($? >> 8, 2, "--pair '$bad' is a usage error (exit 2)");
}

finish();
