#!/usr/bin/perl
# latrack run as a user meets it: help, errors, escaping of names from the
# traced system in JSON and text output, interval tables.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);

my $B = B();
my $help = `$B/latrack run --help`;
is($?, 0, '--help exits 0');
like($help, qr/^EXAMPLES:$/m, '--help has an EXAMPLES section');
my $err = `$B/latrack run bogus 2>&1`;
is($? >> 8, 2, 'unknown tracker: exit 2');
like($err, qr/unknown tracker 'bogus'/, 'unknown tracker: says which');
$err = `$B/latrack run -m 10parsecs 2>&1`;
is($? >> 8, 2, 'bad threshold: exit 2');
$err = `$B/latrack run -c /nonexistent/cg 2>&1`;
like($err, qr/cgroup '\/nonexistent\/cg'/, 'bad cgroup path: one-line explanation');
SKIP: {
	skip 'setpriv needs root to drop privileges', 2 unless $> == 0 && -x '/usr/bin/setpriv';
	$err = `/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups $B/latrack run -d 1 2>&1`;
	is($? >> 8, 1, 'not root: exit 1');
	like($err, qr/needs root/, 'not root: says so');
}

require_bpf();

# A comm with a quote, a backslash, a newline, a control byte and a Latin-1 byte.
my $name = "q\"b\\n\n\x01\xe9";
{
	local $ENV{LT_WORKLOAD_NAME} = $name;
	my $w = workload('sleep', 2, 20);
	my $l = latrack_start('syscall', '--json', '-t', $w->{tid}, '-m', '10ms');
	go_and_wait($w);
	my ($rc, $objs) = latrack_stop($l);
	my @out = of_type($objs, 'outlier');
	is(scalar(of_type($objs, 'INVALID')), 0, 'JSON stays valid with a hostile comm');
	is(scalar @out, 2, 'two outliers');
	# bytes >= 0x80 are escaped as \u00XX (the JSON stays valid even when a comm is not UTF-8)
	is($out[0]{comm}, $name, 'comm round-trips through JSON escaping') if @out;
}
{
	local $ENV{LT_WORKLOAD_NAME} = $name;
	my $w = workload('sleep', 2, 20);
	my $l = latrack_start('syscall', '-t', $w->{tid}, '-m', '10ms', '0.2');
	go_and_wait($w);
	sleep 0.3;
	my ($rc) = latrack_stop($l, text => 1);
	open my $fh, '<', $l->{out} or die;
	my $txt = do { local $/; <$fh> };
	like($txt, qr/"q\\x22b\\x5cn\\x0a\\x01\\xe9"/, 'text output escapes the comm');
	unlike($txt, qr/\x01/, 'no raw control byte reaches the terminal');
	like($txt, qr/syscall latency per class.*\n\s+CLASS\s+PROCESS\s+COUNT\s+\+INTV\s+P50\s+P99\s+MAX/,
	     'interval table with count, p50, p99, max');
	like($txt, qr/^\s+clock_nanosleep\s+lt_workload\[$w->{pid}\]\s+2\s/m, 'the sleeps counted in the table');
	like($txt, qr/^lost: nothing/m, 'loss line at exit');
}

# Classes of exited processes leave the kernel map when it fills up, and
# stay in the tables (with their pids): 4 short processes, each with about
# 25 classes (its start-up syscalls), through a 56-class kernel table, with
# nothing lost.  latrack moves the classes of exited processes out once a
# second when the table is half full, and their slots are free again
# 10 ms later (src/kclass.h): 1.5 s between processes leaves a pass and
# its recycling between the end of one and the start of the next.
{
	my $name = "ltcli$$";
	my $l = latrack_start('syscall', '--json', '--comm', $name, '-m', '1s', '--max-classes', '56');
	my @pids;
	for (1 .. 4) {
		my $w = workload_named($name, 'sleep', 1, 1);
		go_and_wait($w);
		push @pids, $w->{pid};
		sleep 1.5;
	}
	my ($rc, $objs) = latrack_stop($l);
	my @sum = of_type($objs, 'summary', final => JSON::PP::true);
	my ($loss) = of_type($objs, 'loss', final => JSON::PP::true);
	is($loss->{syscall}{hist_full}, 0, 'exited classes evicted: the 56-class table never overflowed')
		or diag(explain($loss));
	my %seen = map { $_->{pid} => 1 } grep { $_->{class} eq 'futex' } @sum;
	is(scalar(grep { $seen{$_} } @pids), 4, 'each exited process still has its classes in the table');
	ok(scalar(grep { $_->{exited} } @sum) > 0, 'evicted classes are marked exited');
}

# -c: tasks in the cgroup or below it are measured, others are not.
SKIP: {
	my $root = -e '/sys/fs/cgroup/cgroup.procs' ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
	skip 'no cgroup v2 mount', 4 unless -e "$root/cgroup.procs";
	my $cg = "$root/latrack-test-$$";
	mkdir $cg and mkdir "$cg/child" or skip "cannot create a cgroup: $!", 4;
	my $in = workload('sleep', 2, 20);
	my $out = workload('sleep', 2, 20);
	my $ok = 0;
	if (open(my $fh, '>', "$cg/child/cgroup.procs")) {
		$ok = print($fh "$in->{pid}\n") && close($fh);
	}
	ok($ok, 'workload moved into a child cgroup') or diag($!);
	my $l = latrack_start('syscall', '--json', '-c', $cg, '-m', '10ms');
	go_and_wait($out);
	go_and_wait($in);
	my ($rc, $objs) = latrack_stop($l);
	my @o = of_type($objs, 'outlier', comm => 'lt-sleeper');
	is(scalar(grep { $_->{pid} == $in->{pid} } @o), 2, '-c PARENT: the process in its child cgroup is measured');
	is(scalar(grep { $_->{pid} == $out->{pid} } @o), 0, '-c: the process outside is not');
	my $cgid = (stat "$cg/child")[1];
	is(scalar(grep { $_->{cgroup_id} == $cgid } @o), 2, 'outliers carry the cgroup id of the task');
	rmdir "$cg/child";
	rmdir $cg;
}

done_testing();
