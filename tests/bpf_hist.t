#!/usr/bin/perl
# `latrack run --hist`: the bar histogram of a class puts a known workload's
# calls in the right power-of-two range.  The range is computed here from
# the sleep length, and the labels latrack prints (human units) are parsed
# back to ns, so a wrong edge or a wrong unit fails.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;

require_bpf();
my ($N, $MS) = (10, 20);
# the power of two at or below the sleep, and the next one: 2^24, 2^25 ns
my $lo = 2**int(log($MS * 1e6) / log(2));
my $hi = 2 * $lo;

my %unit = (ns => 1, us => 1e3, ms => 1e6, s => 1e9);
sub to_ns {
	my ($s) = @_;
	my ($v, $u) = $s =~ /^([\d.]+)(ns|us|ms|s)$/ or return undef;
	return $v * $unit{$u};
}
sub near { my ($a, $b) = @_; defined $a && abs($a - $b) <= 0.01 * $b }

# text tables
{
	my $w = workload('sleep', $N, $MS);
	my $l = latrack_start('-T', 'syscall', '--hist', '-p', $w->{pid}, '-m', '10ms')
		or BAIL_OUT('latrack run does not start');
	go_and_wait($w);
	my ($rc, $objs) = latrack_stop($l, text => 1);
	is($rc, 0, 'exits 0 on SIGINT');
	my @lines = map { $_->{line} } @$objs;
	my ($at) = grep { $lines[$_] =~ /^  clock_nanosleep\s+\S*\[$w->{pid}\]/ } 0 .. $#lines;
	ok(defined $at, 'a clock_nanosleep class for the workload') or diag(join '', @lines);
	$at //= $#lines;
	like($lines[$at + 1] // '', qr/^\s+RANGE : COUNT\s+DISTRIBUTION$/, 'followed by a bar histogram');
	my (@bars, $in, $out);
	for my $i ($at + 2 .. $#lines) {
		my ($a, $b, $n, $bar) = $lines[$i] =~ /^\s+(\S+) -> (\S*)\s+: (\d+)\s+\|([* ]{40})\|$/ or last;
		push @bars, [ to_ns($a), to_ns($b), $n, $bar ];
	}
	ok(@bars >= 1, 'bar lines parsed') or diag(join '', @lines[$at .. $#lines]);
	for my $b (@bars) {
		if (near($b->[0], $lo) && near($b->[1], $hi)) { $in += $b->[2] } else { $out += $b->[2] }
	}
	is($in, $N, "all $N sleeps of $MS ms in the range [$lo, $hi) ns")
		or diag(join '', @lines[$at .. $at + 1 + @bars]);
	is($out // 0, 0, 'none in another range');
	my ($full) = grep { near($_->[0], $lo) } @bars;
	is($full && $full->[3], '*' x 40, 'the fullest range has the full bar');
}

# the same ranges in --json summaries
{
	my $w = workload('sleep', $N, $MS);
	my $l = latrack_start('-T', 'syscall', '--hist', '--json', '-p', $w->{pid}, '-m', '10ms')
		or BAIL_OUT('latrack run does not start');
	go_and_wait($w);
	my ($rc, $objs) = latrack_stop($l);
	is($rc, 0, 'json: exits 0 on SIGINT');
	my ($s) = grep { $_->{class} eq 'clock_nanosleep' && $_->{final} } of_type($objs, 'summary', pid => $w->{pid});
	ok($s, 'json: a final clock_nanosleep summary') or diag(explain($objs));
	is_deeply($s && $s->{hist}, [ { lo_ns => $lo, hi_ns => $hi, count => $N } ],
		  "json: hist has the $N sleeps in [$lo, $hi)");
}

done_testing();
