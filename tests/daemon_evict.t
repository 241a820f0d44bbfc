#!/usr/bin/perl
# A class leaves the kernel's class table when idle, and its next samples
# start a new kernel entry: the daemon's count goes on without a gap.
#
# The syscall tracker caches class indices per CPU (bpf/syscall.bpf.c,
# sys_hist_add); an index whose class was taken out of the table is freed
# and may be given to another class (src/kclass.h).  Here the same class
# (process name ltev<pid>, clock_nanosleep; the daemon's classes are per
# name) is seen, goes idle past [daemon] class_idle = 2s, leaves the
# kernel table, and is seen again on the same CPU (taskset -c 0), where
# the cache still holds its old index: that entry must be found stale
# (its epoch), or the second run's sleeps go to a freed slot and the
# count stops at the first run's.
#
# The filter is on the measured thread (lt_workload's "lt-sleeper"), the
# class on the process name.
#
# Ground truth: the workload's own rounds (3, then 4 nanosleeps of 20 ms).
# /metrics must show _count 3, the kernel class count must drop to 0
# (`latrack ctl status`), then _count 3 + 4 = 7, with no sample lost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);

require_bpf();
my $B = B();
my $L = "$B/latrack";
my $dir = tempdir('latrack-evict-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($dpid, @ws);
END {
	my $rc = $?;
	for my $w (@ws) { kill 'KILL', $w->{pid} if !defined $w->{status} }
	if ($dpid) { kill 'KILL', $dpid; waitpid $dpid, 0 }
	$? = $rc;
}


my $name = substr("ltev$$", 0, 15);
my $bin = "$dir/$name";
copy("$B/tests/lt_workload", $bin) or die "copy: $!";
chmod 0755, $bin;
my $taskset = (grep { -x } qw(/usr/bin/taskset /bin/taskset))[0] or die 'taskset (util-linux) not found';

my $port = free_port();
my $sock = "$dir/ctl.sock";
my $conf = "$dir/latrack.conf";
my $log = "$dir/daemon.log";
my $http = HTTP::Tiny->new(timeout => 5);
open my $f, '>', $conf or die;
print $f <<"EOF";
[daemon]
socket = $sock
change_detection = false
class_idle = 2s
[syscall]
threshold = 1s
comm = lt-sleeper
${\ only_syscall_conf()}
[prometheus]
listen = 127.0.0.1:$port
EOF
close $f;

sub metrics {
	my $r = $http->get("http://127.0.0.1:$port/metrics");
	return $r->{success} ? $r->{content} : '';
}
sub count {
	my ($n) = metrics() =~ /^latrack_syscall_latency_seconds_count\{syscall="clock_nanosleep",comm="\Q$name\E"\} (\d+)$/m;
	return $n;
}
sub kernel_classes {
	my ($n) = `$L ctl -s $sock status` =~ /kernel classes (\d+)/;
	return $n;
}

$dpid = daemon_start($conf, $log);
ok(wait_for(30, sub { slurp($log) =~ /running: syscall>1.000s/ && metrics() ne '' }),
   'daemon running, /metrics served') or diag(slurp($log));

# Both runs on CPU 0: the second finds the first's entry in that CPU's cache.
push @ws, LtTest::start_workload($taskset, '-c', '0', $bin, 'sleep', 3, 20);
my @r1 = grep { /^round / } go_and_wait($ws[0]);
is(scalar(@r1), 3, 'first run: the workload did 3 sleeps');
is(wait_for(5, sub { my $n = count(); defined $n && $n == 3 ? $n : undef }), 3,
   'first run: 3 nanosleeps counted') or diag('count: ' . (count() // 'none'));

# idle past class_idle (2 s): the kernel entry goes, the daemon keeps the count
ok(wait_for(15, sub { my $k = kernel_classes(); defined $k && $k == 0 }),
   'idle class taken out of the kernel table (kernel classes 0)')
	or diag(`$L ctl -s $sock status`);
is(count(), 3, 'its count stays in the daemon');

push @ws, LtTest::start_workload($taskset, '-c', '0', $bin, 'sleep', 4, 20);
my @r2 = grep { /^round / } go_and_wait($ws[1]);
is(scalar(@r2), 4, 'second run: the workload did 4 sleeps');
is(wait_for(5, sub { my $n = count(); defined $n && $n == 7 ? $n : undef }), 7,
   'second run, same class, same CPU: 3 + 4 = 7 counted') or diag('count: ' . (count() // 'none'));
my ($lost) = metrics() =~ /^latrack_lost_events_total\{tracker="syscall",reason="hist_full"\} (\d+)$/m;
is($lost // 'absent', 0, 'no sample lost (hist_full 0)')
	or diag(join "\n", grep { /lost/ } split /\n/, metrics());

is(daemon_stop($dpid), 0, 'SIGTERM: exit 0');
$dpid = undef;
done_testing();
