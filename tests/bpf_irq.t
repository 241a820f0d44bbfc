#!/usr/bin/perl
# irq tracker: the softirqs it counts per vector agree with the kernel's own
# counters (/proc/softirqs) over the same window: at least what the kernel
# counted while the tracker was surely attached, at most what it counted
# from before the start to after the end.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use Time::HiRes qw(sleep);

require_bpf();

sub softirqs {
	my %n;
	open my $fh, '<', '/proc/softirqs' or return;
	<$fh>;
	while (<$fh>) {
		my ($name, @cpu) = split;
		$name =~ s/:$//;
		$n{$name} += $_ for @cpu;
	}
	return \%n;
}

for my $hook ('tp_btf', 'raw_tp') {
	my @extra = $hook eq 'raw_tp' ? ('--raw-tp') : ();
	my $outer0 = softirqs();
	my $l = latrack_start('irq', '--json', '-m', '1s', @extra);
	my $inner0 = softirqs();
	# some work that raises softirqs: timers and the scheduler's balancing
	system('sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.05; done');
	my $inner1 = softirqs();
	my ($rc, $objs) = latrack_stop($l, settle => 0);
	my $outer1 = softirqs();
	is($rc, 0, "$hook: exits 0");
	my %run = map { ($_->{class} =~ /^(\w+) run$/)[0] => $_->{count} }
		grep { $_->{kind} eq 'softirq' && $_->{class} =~ / run$/ }
		of_type($objs, 'summary', tracker => 'irq', final => JSON::PP::true);
	ok(($run{TIMER} // 0) > 0, "$hook: TIMER softirqs counted") or diag(explain(\%run));
	for my $v (sort keys %run) {
		my ($lo, $hi) = ($inner1->{$v} - $inner0->{$v}, $outer1->{$v} - $outer0->{$v});
		ok($run{$v} >= $lo && $run{$v} <= $hi, "$hook: $v: $run{$v} runs, /proc/softirqs says $lo..$hi");
	}
	my @wait = grep { $_->{kind} eq 'softirq' && $_->{class} =~ / wait$/ }
		of_type($objs, 'summary', tracker => 'irq', final => JSON::PP::true);
	ok(@wait > 0, "$hook: raise -> entry waits measured");
	my ($loss) = of_type($objs, 'loss');
	is(scalar(grep { $_ } values %{ $loss->{irq} // {} }), 0, "$hook: nothing lost");
}

done_testing();
