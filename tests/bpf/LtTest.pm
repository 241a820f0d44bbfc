# Helpers for the kernel tracker tests (tests/bpf_*.t): skip or fail when
# BPF is unavailable, start the workload (build/tests/lt_workload) and
# `latrack run --json`, collect its JSON lines.
package LtTest;
use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempfile);
use File::Temp ();
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT = qw(require_bpf workload workload_named go_and_wait wait_for free_port latrack_start latrack_stop only_syscall_conf
	slurp daemon_start daemon_stop
		 of_type kstack_has rounds in_round unexplained median B);

our $B = $ENV{LATRACK_BUILD} // 'build';
sub B { $B }

# Skip loudly (or fail under LATRACK_REQUIRE_BPF=1) when BPF can't be used.
sub require_bpf {
	my $why;
	if ($> != 0) {
		$why = 'needs root to load BPF programs';
	} elsif (!-r '/sys/kernel/btf/vmlinux') {
		$why = 'kernel without BTF (/sys/kernel/btf/vmlinux)';
	} elsif (!-x "$B/latrack" || !-x "$B/tests/lt_workload") {
		$why = "$B/latrack or $B/tests/lt_workload not built";
	} elsif (system("$B/latrack run syscall -p 1 -d 0.1 >/dev/null 2>&1") != 0) {
		$why = 'BPF programs do not load here (latrack run -T syscall fails)';
	}
	return unless $why;
	my $started = Test::More->builder->current_test > 0;
	if (($ENV{LATRACK_REQUIRE_BPF} // '') eq '1') {
		plan tests => 1 unless $started;
		fail("required capability missing: $why");
		done_testing() if $started;
		exit 1;
	}
	if ($started) { # some checks ran already: skip the rest, loudly
		SKIP: { skip("rest of the file: $why", 1) }
		done_testing();
		exit 0;
	}
	plan skip_all => $why;
}

# Wait until f returns true (checked every 0.2 s), at most secs seconds;
# returns f's value, or undef.
sub wait_for {
	my ($secs, $f) = @_;
	my $t0 = time;
	while (time - $t0 < $secs) {
		my $r = $f->();
		return $r if $r;
		sleep 0.2;
	}
	return undef;
}

# A free TCP port on 127.0.0.1 (for a server the test starts).
sub free_port {
	require IO::Socket::IP;
	my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1) or die "socket: $!";
	my $p = $s->sockport;
	close $s;
	return $p;
}

# The daemon configuration sections that switch every tracker but syscall
# off (tests of the daemon trace one workload's syscalls only).
sub only_syscall_conf {
	return join '', map { "[$_]\nenabled = false\n" } qw(wakeup offcpu block irq net);
}

# Start lt_workload MODE ARGS...; it prints its ids and waits for SIGUSR1.
sub workload { return start_workload("$B/tests/lt_workload", @_) }

# The same from a copy named NAME (its process name, at most 15 bytes):
# a --comm filter on NAME then sees this test's processes only, not the
# workloads of other test runs on the machine.
my $copies;
sub workload_named {
	my ($name, @args) = @_;
	$copies //= File::Temp::tempdir('lt-workload-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $bin = "$copies/$name";
	if (!-x $bin) {
		system('cp', "$B/tests/lt_workload", $bin) == 0 or die "cp lt_workload $bin: $?";
		chmod 0755, $bin;
	}
	return start_workload($bin, @args);
}

sub start_workload {
	my ($bin, @args) = @_;
	my $pid = open(my $fh, '-|', $bin, @args)
		or die "$bin: $!";
	my $line = <$fh> // die 'lt_workload printed nothing';
	my ($p, $t, $w) = $line =~ /^pid (\d+) tid (\d+) waker (\d+)/
		or die "lt_workload: bad line '$line'";
	return { pid => $p, tid => $t, waker => $w, fh => $fh };
}

# Let it run; returns the lines it printed after its ids.
sub go_and_wait {
	my ($w) = @_;
	kill 'USR1', $w->{pid};
	my $fh = $w->{fh};
	my @lines = <$fh>;
	close $fh;
	$w->{status} = $?;
	return @lines;
}

# Start `latrack run ARGS...` in the background; wait until it is attached.
sub latrack_start {
	my @args = @_;
	my (undef, $out) = tempfile(UNLINK => 1);
	my (undef, $err) = tempfile(UNLINK => 1);
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open STDOUT, '>', $out or POSIX::_exit(127);
		open STDERR, '>', $err or POSIX::_exit(127);
		{ no warnings 'exec'; exec "$B/latrack", 'run', @args; }
		POSIX::_exit(127);
	}
	my $t0 = time;
	while (time - $t0 < 30) {
		open my $e, '<', $err or die;
		my $txt = do { local $/; <$e> } // '';
		close $e;
		if ($txt =~ /Ctrl-C to end/) {
			my ($id) = $txt =~ /BPF map id (\d+)/;
			return { pid => $pid, out => $out, err => $err, thresh_map => $id };
		}
		if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
			diag("latrack run @args exited early: $txt");
			return undef;
		}
		sleep 0.05;
	}
	kill 'KILL', $pid;
	waitpid $pid, 0;
	diag("latrack run @args did not attach within 30 s");
	return undef;
}

# A file's whole content ('' if it cannot be read).
sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; return <$fh> // '' }

# `latrack daemon -c CONF` in the background, stdout and stderr to LOG;
# returns its pid.
sub daemon_start {
	my ($conf, $log) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', $log or POSIX::_exit(127);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
		{ no warnings 'exec'; exec "$B/latrack", 'daemon', '-c', $conf; }
		POSIX::_exit(127);
	}
	return $pid;
}

# SIGTERM; wait up to 20 s.  Returns the wait status, or undef if it did
# not end (then it is killed).
sub daemon_stop {
	my ($pid) = @_;
	kill 'TERM', $pid;
	my $t0 = time;
	while (time - $t0 < 20) {
		return $? if waitpid($pid, POSIX::WNOHANG()) == $pid;
		sleep 0.1;
	}
	kill 'KILL', $pid;
	waitpid $pid, 0;
	return undef;
}

# Stop it (SIGINT unless it ends by itself), return (exit code, [objects], stderr).
sub latrack_stop {
	my ($l, %o) = @_;
	sleep($o{settle} // 0.3); # let the last events through the ring buffer
	kill 'INT', $l->{pid} unless $o{no_signal};
	waitpid $l->{pid}, 0;
	my $rc = $?;
	my @objs;
	open my $fh, '<', $l->{out} or die;
	my $n = 0;
	while (my $line = <$fh>) {
		$n++;
		# storms: decode only the first outliers, count the others
		if ($o{count_outliers_after} && $n > $o{count_outliers_after} && $line =~ /^\{"type":"outlier"/) {
			push @objs, { type => 'outlier', counted_only => 1,
				      class => ($line =~ /"class":"([^"]*)"/)[0] // '' };
			next;
		}
		if ($o{text}) {
			push @objs, { type => 'TEXT', line => $line };
			next;
		}
		my $obj = eval { decode_json($line) };
		if (!$obj) {
			diag("line $n is not JSON: $line");
			push @objs, { type => 'INVALID' };
			next;
		}
		push @objs, $obj;
	}
	close $fh;
	open my $e, '<', $l->{err} or die;
	my $err = do { local $/; <$e> } // '';
	close $e;
	return ($rc, \@objs, $err);
}

# The workload's own measurements: [begin_ns, end_ns] per round (CLOCK_MONOTONIC).
sub rounds {
	return map { /^round \d+ (\d+) (\d+)/ ? [ $1, $2 ] : () } @_;
}

# Events that began and ended within a round.
sub in_round {
	my ($r, @ev) = @_;
	return grep { $_->{begin_ns} >= $r->[0] && $_->{end_ns} <= $r->[1] } @ev;
}

# Time of a round the event does not account for: the round's length less
# the event's delay less the run-queue waits after preemption (wakeup
# outliers with "preempted") that fall in the round outside the event.  On
# a loaded machine those waits are real and the tracker reports them too.
sub unexplained {
	my ($r, $ev, @waits) = @_;
	my $left = $r->[1] - $r->[0] - $ev->{delay_ns};
	for my $w (in_round($r, grep { $_->{preempted} } @waits)) {
		$left -= $w->{delay_ns}
			if $w->{end_ns} <= $ev->{begin_ns} || $w->{begin_ns} >= $ev->{end_ns};
	}
	return $left;
}

sub median {
	my @v = sort { $a <=> $b } @_;
	return @v ? $v[$#v / 2] : undef;
}

sub of_type {
	my ($objs, $type, %match) = @_;
	return grep {
		my $o = $_;
		$o->{type} eq $type && !grep { !defined $o->{$_} || $o->{$_} ne $match{$_} } keys %match
	} @$objs;
}

sub kstack_has {
	my ($o, $re, $field) = @_;
	return scalar grep { /$re/ } @{ $o->{ $field // 'kstack' } // [] };
}

1;
