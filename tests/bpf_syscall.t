#!/usr/bin/perl
# syscall tracker, on the live kernel: known sleeps are reported with the
# right delay, thread, stack and counts; filters, threshold changes while
# running, stuck syscalls, and the raw_tp fallback.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;

require_bpf();
my $B = B();
my ($N, $MS) = (10, 20);
my $SLACK = 2e6; # the workload's clock reads around the syscall vs the tracepoints

for my $hook ('tp_btf', 'raw_tp') {
	my $w = workload('sleep', $N, $MS);
	my @extra = $hook eq 'raw_tp' ? ('--raw-tp') : ();
	# wakeup at threshold 0 too: run-queue waits explain a loaded machine's delays
	my $l = latrack_start('-T', 'syscall,wakeup', '--json', '-p', $w->{pid},
			      '--threshold', 'syscall=10ms', '--threshold', 'wakeup=0', @extra)
		or BAIL_OUT("latrack run does not start");
	like(do { open my $e, '<', $l->{err}; local $/; <$e> }, qr/\($hook hooks\)/, "$hook: hooks used");
	my @rounds = rounds(go_and_wait($w));
	my ($rc, $objs) = latrack_stop($l);
	is($rc, 0, "$hook: exits 0 on SIGINT");
	is(scalar @rounds, $N, "$hook: the workload measured $N sleeps");
	is(scalar(of_type($objs, 'INVALID')), 0, "$hook: every output line is JSON");

	my @out = of_type($objs, 'outlier', tracker => 'syscall');
	my @sleeps = grep { $_->{syscall} =~ /^(clock_)?nanosleep$/ } @out;
	is(scalar @sleeps, $N, "$hook: $N nanosleep outliers over 10 ms");
	# besides: the main thread waiting in pthread_join (futex) for the sleeper
	is(scalar(grep { $_->{tid} != $w->{tid} && !($_->{tid} == $w->{pid} && $_->{syscall} eq 'futex') } @out), 0,
	   "$hook: and no other outlier (but the main thread's futex wait)");
	my @bad = grep { $_->{delay_ns} < $MS * 1e6 } @sleeps;
	ok(!@bad, "$hook: each delay at least $MS ms") or diag(join ' ', map { $_->{delay_ns} } @bad);
	# each sleep the workload timed itself contains exactly one outlier, and
	# with the run-queue waits around it accounts for all but < 2 ms of it
	my @waits = of_type($objs, 'outlier', tracker => 'wakeup', tid => $w->{tid});
	my @agree = grep {
		my $r = $_;
		my @e = in_round($r, @sleeps);
		@e == 1 && unexplained($r, $e[0], @waits) < $SLACK
	} @rounds;
	# one round in N may lose its vCPU to the host (steal time: invisible here)
	ok(@agree >= $N - 1, "$hook: each delay agrees with the workload's own timing (< 2 ms unexplained)")
		or diag(join ' ', map { $_->[1] - $_->[0] } @rounds);
	is(scalar(grep { $_->{tid} == $w->{tid} && $_->{pid} == $w->{pid} && $_->{comm} eq 'lt-sleeper' } @sleeps),
	   $N, "$hook: reported for the sleeping thread (pid, tid, comm)");
	is(scalar(grep { $_->{ret} == 0 } @sleeps), $N, "$hook: return value 0");
	is(scalar(grep { $_->{end_ns} - $_->{begin_ns} == $_->{delay_ns} } @sleeps), $N,
	   "$hook: delay = end - begin");
	is(scalar(grep { @{ $_->{ustack} // [] } > 0 } @sleeps), $N, "$hook: user stack of the call site captured");
	is(scalar(grep { kstack_has($_, qr/^(sleeper|sleep_ms)\+0x[0-9a-f]+ \(lt_workload\)$/, 'ustack') } @sleeps), $N,
	   "$hook: user stack symbolised: the workload's own function")
		or diag(explain($sleeps[0]{ustack}));
	if ($hook eq 'tp_btf') {
		is(scalar(grep { kstack_has($_, qr/^hrtimer_nanosleep\+/) && kstack_has($_, qr/^__x64_sys_(clock_)?nanosleep\+/)
				 && ($_->{kstack_kind} // '') eq 'blocked' } @sleeps),
		   $N, 'tp_btf: blocking stack: hrtimer_nanosleep called from the syscall')
			or diag(explain([ map { [ $_->{kstack_kind} // 'none', $_->{kstack} ] }
					 grep { !kstack_has($_, qr/^hrtimer_nanosleep\+/) } @sleeps ]));
	}

	my @sum = of_type($objs, 'summary', tracker => 'syscall', final => JSON::PP::true);
	my ($cls) = grep { $_->{class} =~ /^(clock_)?nanosleep$/ && $_->{pid} == $w->{pid} } @sum;
	ok($cls, "$hook: a summary class for the sleeps");
	is($cls->{count}, $N, "$hook: histogram count = number of calls") if $cls;
	my @len = sort { $a <=> $b } map { $_->[1] - $_->[0] } @rounds;
	ok($cls && $cls->{p50_ns} >= $MS * 1e6 * 0.985 && $cls->{p50_ns} <= $len[$#len] * 1.016,
	   "$hook: p50 between $MS ms and the longest sleep timed (1.6 % bucket precision)")
		or diag($cls ? $cls->{p50_ns} : 'none');
	is(scalar(grep { $_->{pid} != $w->{pid} } of_type($objs, 'summary')), 0, "$hook: -p: no class from another process");
	my ($loss) = of_type($objs, 'loss');
	is(scalar(grep { $_ } map { values %{ $loss->{$_} // {} } } qw(syscall wakeup)), 0, "$hook: nothing lost");
}

# Exact syscall count; a concurrent process is filtered out.
{
	my $n = 100000;
	my $w = workload('loop', $n);
	my $other = workload('loop', 5000);
	my $l = latrack_start('-T', 'syscall', '--json', '-p', $w->{pid}, '-m', '1s');
	go_and_wait($other);
	go_and_wait($w);
	my ($rc, $objs) = latrack_stop($l);
	my ($cls) = grep { $_->{class} eq 'getppid' } of_type($objs, 'summary', final => JSON::PP::true);
	is($cls && $cls->{count}, $n, "getppid counted exactly $n times")
		or diag(explain([ grep { $_->{type} ne 'summary' || $_->{class} eq 'getppid' } @$objs ]));
	is($cls && $cls->{comm}, 'lt_workload', 'class named after the process');
	is(scalar(grep { ($_->{pid} // 0) == $other->{pid} } @$objs), 0, 'the other process is not measured');
}

# --comm, -t and a threshold changed while running (through the lt_thresh map).
SKIP: {
	skip 'bpftool not installed', 4 unless system('bpftool version >/dev/null 2>&1') == 0;
	my $l = latrack_start('syscall', '--json', '--comm', 'lt-sleeper', '-m', '1s');
	my $w1 = workload('sleep', 3, $MS);
	go_and_wait($w1);
	# 10 ms, little-endian u64
	my @v = map { sprintf '%d', (10_000_000 >> (8 * $_)) & 0xff } 0 .. 7;
	my $rc_upd = system('bpftool', 'map', 'update', 'id', $l->{thresh_map} // 0, 'key', '0', '0', '0', '0', 'value', @v);
	is($rc_upd, 0, 'bpftool map update id N (the lt_thresh map latrack named at start)');
	my $w2 = workload('sleep', 3, $MS);
	go_and_wait($w2);
	my ($rc, $objs) = latrack_stop($l);
	my @out = of_type($objs, 'outlier');
	is(scalar(grep { $_->{pid} == $w1->{pid} } @out), 0, 'threshold 1 s: no outlier');
	is(scalar(grep { $_->{pid} == $w2->{pid} && $_->{comm} eq 'lt-sleeper' && $_->{syscall} =~ /nanosleep/ } @out), 3,
	   'threshold lowered to 10 ms while running: the 3 sleeps reported');
	is(scalar(grep { $_->{comm} ne 'lt-sleeper' } @out), 0, '--comm: only lt-sleeper threads');
}

# A syscall in flight longer than the timeout is reported once as stuck.
{
	my $w = workload('sleep', 1, 1500);
	my $l = latrack_start('syscall', '--json', '-t', $w->{tid}, '-m', '5s', '--timeout', '400ms');
	go_and_wait($w);
	my ($rc, $objs) = latrack_stop($l);
	my @stuck = of_type($objs, 'stuck', tid => $w->{tid});
	is(scalar @stuck, 1, 'stuck reported once');
	ok(@stuck && $stuck[0]{class} =~ /nanosleep/ && $stuck[0]{age_ns} >= 400e6 && $stuck[0]{age_ns} < 1500e6,
	   'stuck: the syscall and its age') or diag(explain(\@stuck));
	ok(@stuck && kstack_has($stuck[0], qr/nanosleep/), 'stuck: with the stack it is blocked in');
	is(scalar(of_type($objs, 'outlier')), 0, 'under the 5 s threshold: no outlier');
	is(scalar(grep { $_->{pid} != $w->{pid} } of_type($objs, 'summary')), 0, '-t: only that thread\'s process');
	my %cls = map { $_->{class} => $_->{count} } of_type($objs, 'summary');
	is($cls{clock_nanosleep}, 1, '-t: the sleeping thread\'s one nanosleep');
	ok(!$cls{write}, '-t: not the main thread\'s write of "done"') or diag(explain(\%cls));
}

# A syscall that runs without sleeping (latrack keeps it in a per-CPU slot
# until the thread switches out) is reported stuck too: a 512 MiB read()
# of /dev/zero into fresh memory, about 1 s of page faults and copying.
{
	my $l = latrack_start('syscall', '--json', '--comm', 'lt-bigread', '-m', '5s', '--timeout', '300ms');
	my $pid = fork() // BAIL_OUT("fork: $!");
	if (!$pid) {
		$0 = 'lt-bigread';
		open my $z, '<', '/dev/zero' or exit 1;
		my $buf;
		sysread($z, $buf, 512 << 20);
		exit 0;
	}
	waitpid($pid, 0);
	select(undef, undef, undef, 0.5); # one more sweep
	my ($rc, $objs) = latrack_stop($l);
	my @stuck = of_type($objs, 'stuck', tid => $pid);
	my %cls = map { $_->{class} => $_ } grep { $_->{pid} == $pid } of_type($objs, 'summary');
	my $max = $cls{read} ? $cls{read}{max_ns} : 0;
	SKIP: {
		skip("the read took only ${max} ns here", 2) if $max < 600e6;
		is(scalar(grep { $_->{class} eq 'read' } @stuck), 1, 'a long read() that runs: stuck reported once')
			or diag(explain(\@stuck));
		ok(@stuck && $stuck[0]{age_ns} >= 300e6 && $stuck[0]{age_ns} <= $max, 'its age: past the timeout, within the read');
	}
}

done_testing();
