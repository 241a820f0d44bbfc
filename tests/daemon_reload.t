#!/usr/bin/perl
# The daemon keeps its histograms across a SIGHUP that reloads the BPF
# programs, and stops cleanly on SIGTERM.
#
# Two workloads (build/tests/lt_workload sleep N MS) wait for SIGUSR1.  The
# daemon traces syscalls of the first one only (pid filter): its 12
# nanosleeps must show as _count 12 in /metrics.  The configuration file
# then names the second workload's pid (a new filter: the BPF programs are
# reloaded) and the daemon gets SIGHUP; after the second workload's 7
# sleeps the same class (same comm) must count 12 + 7 = 19, and `latrack
# ctl status` must say the programs were reloaded once.  SIGTERM: exit 0,
# "stopped" logged, the control socket removed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::IP;
use POSIX ();
use Time::HiRes qw(sleep time);

require_bpf();
my $B = B();
my $L = "$B/latrack";
my $dir = tempdir('latrack-reload-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($dpid, @ws);
END {
	my $rc = $?;
	for my $w (@ws) { kill 'KILL', $w->{pid} if !defined $w->{status} }
	if ($dpid) { kill 'KILL', $dpid; waitpid $dpid, 0 }
	$? = $rc;
}




my $port = free_port();
my $sock = "$dir/ctl.sock";
my $conf = "$dir/latrack.conf";
my $log = "$dir/daemon.log";
my $http = HTTP::Tiny->new(timeout => 5);

sub write_conf {
	my ($pid) = @_;
	open my $f, '>', "$conf.tmp" or die;
	print $f <<"EOF";
[daemon]
socket = $sock
change_detection = false
[syscall]
threshold = 1s
pid = $pid
${\ only_syscall_conf()}
[prometheus]
listen = 127.0.0.1:$port
EOF
	close $f;
	rename "$conf.tmp", $conf or die;
}

# The class's _count in /metrics (undef: not there yet).
sub count {
	my $r = $http->get("http://127.0.0.1:$port/metrics");
	return undef unless $r->{success};
	my ($n) = $r->{content} =~ /^latrack_syscall_latency_seconds_count\{syscall="clock_nanosleep",comm="lt_workload"\} (\d+)$/m;
	return $n;
}

push @ws, workload('sleep', 12, 20), workload('sleep', 7, 20);
write_conf($ws[0]{pid});
$dpid = daemon_start($conf, $log);
ok(wait_for(30, sub { slurp($log) =~ /running: syscall>1.000s/ && $http->get("http://127.0.0.1:$port/metrics")->{success} }),
   'daemon running, /metrics served') or diag(slurp($log));

go_and_wait($ws[0]);
is(wait_for(5, sub { my $n = count(); defined $n && $n == 12 ? $n : undef }), 12,
   'first workload: 12 nanosleeps counted') or diag('count: ' . (count() // 'none'));

write_conf($ws[1]{pid});
kill 'HUP', $dpid;
ok(wait_for(30, sub { slurp($log) =~ /configuration reloaded/ }), 'SIGHUP: configuration reloaded') or diag(slurp($log));
my $st = `$L ctl -s $sock status`;
like($st, qr/BPF reloads 1\b/, 'a new filter reloaded the BPF programs once') or diag($st);
is(count(), 12, 'after the reload the histogram still holds the first 12');

go_and_wait($ws[1]);
is(wait_for(5, sub { my $n = count(); defined $n && $n == 19 ? $n : undef }), 19,
   'second workload (the new filter): 12 + 7 = 19') or diag('count: ' . (count() // 'none'));

is(daemon_stop($dpid), 0, 'SIGTERM: exit 0');
$dpid = undef;
like(slurp($log), qr/latrack daemon: stopped$/m, '"stopped" logged');
ok(!-e $sock, 'control socket removed');
done_testing();
