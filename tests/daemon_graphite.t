#!/usr/bin/perl
# `latrack daemon` against Debian's carbon-cache (graphite-carbon) and a
# JSON-lines file (docs/GRAPHITE.md).
#
#  1. carbon-cache on loopback (temporary carbon.conf, free ports, whisper
#     retention 1s:1h), the daemon with graphite (interval 1 s) and json,
#     the syscall tracker restricted to comm lt-sleeper in a cgroup v2 of
#     this test's own (other tests may run lt_workload at the same time:
#     the class is per comm, so only the cgroup keeps their calls out; the
#     workloads are moved into it before they start).  A workload of N1
#     nanosleeps: whisper-fetch must show, summed over the points of
#     PREFIX.syscall.clock_nanosleep.lt_workload.count (a class is named
#     after the process, the thread is lt-sleeper), exactly N1, and
#     p50_us points near the sleep length.
#  2. carbon stopped while the daemon runs and a second workload keeps
#     going: `latrack ctl status` shows the output down with lines queued
#     and dropped (queue = 50 lines); carbon restarted on the same port:
#     the daemon is still running and reconnects; a third workload after
#     the reconnection: its N3 calls are in whisper again, exactly.
#  3. The JSON file holds one outlier per nanosleep of both workloads
#     (threshold 10 ms), comm lt-sleeper, delay near the sleep length.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

require_bpf();

my $why;
for my $bin (qw(carbon-cache whisper-fetch)) {
	next if grep { -x "$_/$bin" } split /:/, $ENV{PATH};
	$why = "$bin not installed (apt-get install graphite-carbon python3-whisper)";
}
if ($why) {
	if (($ENV{LATRACK_REQUIRE_BPF} // '') eq '1') {
		plan tests => 1;
		fail("required capability missing: $why");
		exit 1;
	}
	plan skip_all => $why;
}

my $B = B();
my $dir = tempdir('lt-carbon-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($carbon_pid, $daemon_pid, @workloads);

# A cgroup v2 of our own for the workloads.
my ($cgroot) = map { (split ' ')[1] } grep { (split ' ')[2] eq 'cgroup2' } do {
	open my $mf, '<', '/proc/mounts' or die; <$mf>
};
give_up('no cgroup v2 mount') unless $cgroot;
my $cg = "$cgroot/lt-graphite-$$";
mkdir $cg or give_up("mkdir $cg: $!");

# Stop here with a failure (not BAIL_OUT: the other test files still run).
sub give_up {
	my ($why) = @_;
	fail($why);
	done_testing();
	exit 1;
}

sub into_cgroup {
	my ($pid) = @_;
	open my $f, '>', "$cg/cgroup.procs" or die "$cg/cgroup.procs: $!";
	print $f "$pid\n";
	close $f or die "move $pid to $cg: $!";
}

# Always stop what we started.
END {
	my $rc = $?;
	kill 'KILL', $_->{pid} for grep { $_->{pid} } @workloads;
	if ($daemon_pid) { kill 'TERM', $daemon_pid; waitpid $daemon_pid, 0; }
	carbon_stop();
	for (1 .. 50) { last if !-d $cg || rmdir $cg; sleep 0.1; }
	$? = $rc;
}

# Four free loopback ports (held open together so they differ).
my @hold = map {
	IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
		or die "listen: $!"
} 1 .. 4;
my ($line_port, $pickle_port, $query_port, $prom_port) = map { $_->sockport } @hold;
close $_ for @hold;

mkdir "$dir/$_" for qw(whisper log run);
open my $cc, '>', "$dir/carbon.conf" or die;
print $cc <<"EOF";
[cache]
STORAGE_DIR = $dir/
LOCAL_DATA_DIR = $dir/whisper/
WHISPER_DIR = $dir/whisper/
CONF_DIR = $dir/
LOG_DIR = $dir/log/
PID_DIR = $dir/run/
DATABASE = whisper
ENABLE_LOGROTATION = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
MIN_TIMESTAMP_RESOLUTION = 1
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $line_port
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $pickle_port
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $query_port
USE_FLOW_CONTROL = True
LOG_UPDATES = False
LOG_CREATES = False
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = True
WHISPER_FALLOCATE_CREATE = False
EOF
close $cc;
open my $ss, '>', "$dir/storage-schemas.conf" or die;
print $ss "[all]\npattern = .*\nretentions = 1s:1h\n";
close $ss;

sub port_open {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $line_port, Timeout => 1);
	close $s if $s;
	return !!$s;
}

sub carbon_start {
	$carbon_pid = fork // die "fork: $!";
	if (!$carbon_pid) {
		open STDOUT, '>>', "$dir/carbon.out" or POSIX::_exit(127);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
		chdir $dir;
		no warnings 'exec';
		exec 'carbon-cache', "--config=$dir/carbon.conf", '--nodaemon',
			"--pidfile=$dir/run/carbon.pid", "--logdir=$dir/log", 'start';
		POSIX::_exit(127);
	}
	for (1 .. 300) {
		return 1 if port_open();
		last if waitpid($carbon_pid, POSIX::WNOHANG()) == $carbon_pid;
		sleep 0.1;
	}
	diag("carbon-cache did not start:\n" . slurp("$dir/carbon.out"));
	return 0;
}

sub carbon_stop {
	return unless $carbon_pid;
	kill 'TERM', $carbon_pid;
	for (1 .. 100) {
		last if waitpid($carbon_pid, POSIX::WNOHANG()) == $carbon_pid;
		sleep 0.1;
	}
	if (kill 0, $carbon_pid) { kill 'KILL', $carbon_pid; waitpid $carbon_pid, 0; }
	$carbon_pid = undef;
}


# whisper-fetch: [ts, value] of the non-null points of a metric
sub fetch {
	my ($metric) = @_;
	(my $rel = $metric) =~ s{\.}{/}g;
	my $f = "$dir/whisper/$rel.wsp";
	return () unless -f $f;
	my $now = int(time);
	open my $p, '-|', 'whisper-fetch', '--from=' . ($now - 3500), '--until=' . ($now + 5), $f
		or return ();
	my @pts;
	while (<$p>) {
		push @pts, [ $1, $2 ] if /^(\d+)\s+(-?[\d.]+)$/;
	}
	close $p;
	return @pts;
}

sub sum { my $s = 0; $s += $_ for @_; $s }

sub ctl_status {
	my $out = `$B/latrack ctl -s $dir/latrack.sock status 2>&1`;
	return $out // '';
}

sub graphite_status {
	my ($line) = ctl_status() =~ /^(graphite:.*)$/m;
	return $line // '';
}


# ---- 1. carbon up ----
ok(carbon_start(), 'carbon-cache listens on 127.0.0.1:' . $line_port) or give_up('no carbon: ' . slurp("$dir/carbon.out"));

my $PREFIX = 'lttest';
open my $dc, '>', "$dir/latrack.conf" or die;
print $dc <<"EOF";
[daemon]
tick = 1s
socket = $dir/latrack.sock
[syscall]
enabled = true
threshold = 10ms
comm = lt-sleeper
cgroup = $cg
${\ only_syscall_conf()}
[prometheus]
listen = 127.0.0.1:$prom_port
[graphite]
enabled = true
host = 127.0.0.1
port = $line_port
prefix = $PREFIX
interval = 1s
queue = 50
[json]
enabled = true
path = $dir/events.json
max_size = 10MiB
keep = 2
EOF
close $dc;

$daemon_pid = daemon_start("$dir/latrack.conf", "$dir/daemon.err");
ok(wait_for(30, sub { slurp("$dir/daemon.err") =~ /running:/ || !kill(0, $daemon_pid) })
	   && kill(0, $daemon_pid), 'daemon running')
	or give_up('daemon did not start: ' . slurp("$dir/daemon.err"));
ok(wait_for(15, sub { graphite_status() =~ /state=connected/ }), 'graphite output connected')
	or diag(ctl_status());

my ($N1, $MS1) = (40, 20);
my $w = workload('sleep', $N1, $MS1);
push @workloads, $w;
into_cgroup($w->{pid});
go_and_wait($w);
is($w->{status}, 0, "workload 1: $N1 x ${MS1} ms nanosleep");

# classes are named after the process (its group leader's comm)
my $m = "$PREFIX.syscall.clock_nanosleep.lt_workload";
my @cnt;
wait_for(20, sub { @cnt = fetch("$m.count"); sum(map { $_->[1] } @cnt) >= $N1 });
is(sum(map { $_->[1] } @cnt), $N1, "whisper: the points of $m.count add up to $N1")
	or diag(join(' ', map { "$_->[0]=$_->[1]" } @cnt) . "\nwhisper files:\n" . `cd $dir/whisper && find . -name '*.wsp'`);
my @p50 = grep { $_->[1] > 0 } fetch("$m.p50_us");
ok(@p50 && !grep({ $_->[1] < $MS1 * 1000 || $_->[1] > $MS1 * 1000 * 1.25 } @p50),
   "whisper: p50_us points within [${MS1} ms, 1.25 x ${MS1} ms]")
	or diag(join ' ', map { "$_->[0]=$_->[1]" } @p50);
my @mx = fetch("$m.max_us");
ok(@mx && !grep({ $_->[1] > 0 && $_->[1] < $MS1 * 1000 } @mx), "whisper: max_us >= the sleep");
my @ts = map { $_->[0] } grep { $_->[1] > 0 } @cnt;
ok(@ts && $ts[-1] - $ts[0] <= 10, 'points at the time of the workload (1 s apart, within 10 s)')
	or diag("@ts");
ok(-f "$dir/whisper/$PREFIX/syscall/_counters/outliers.wsp", 'counter series exist (syscall._counters.outliers)');
my @dropped = fetch("$PREFIX._daemon.graphite_dropped");
is(sum(map { $_->[1] } @dropped), 0, 'nothing dropped while carbon was up');

# ---- 2. carbon down, then back ----
my ($N2, $MS2) = (300, 40); # 12 s of sleeps
my $w2 = workload('sleep', $N2, $MS2);
push @workloads, $w2;
into_cgroup($w2->{pid});
kill 'USR1', $w2->{pid};
sleep 2;
carbon_stop();
ok(!port_open(), 'carbon stopped');
my $down_at = time;
my $st = '';
ok(wait_for(10, sub { $st = graphite_status(); $st =~ /state=(down|connecting)/ && $st =~ /dropped=[1-9]/ }),
   'ctl status: graphite down, lines dropped (queue of 50 full)')
	or diag($st);
my ($queued) = $st =~ /queued=(\d+)/;
ok(($queued // 0) > 0 && $queued <= 50, "ctl status: lines queued while down, at most the queue (${\($queued // 'none')})");
like($st, qr/last_error="[^"]+"/, 'ctl status: the last error');
diag($st);
{
	# The same loss in /metrics, from the next tick on.
	my $m = '';
	ok(wait_for(5, sub {
		$m = HTTP::Tiny->new(timeout => 3)->get("http://127.0.0.1:$prom_port/metrics")->{content} // "";
		$m =~ /^latrack_output_up\{output="graphite"\} 0$/m && $m =~ /^latrack_output_dropped_total\{output="graphite"\} [1-9]/m
	}), '/metrics: latrack_output_up{output="graphite"} 0, latrack_output_dropped_total{output="graphite"} > 0')
		or diag(join "\n", grep { /latrack_output/ } split /\n/, $m);
}
sleep 2 while time - $down_at < 5;
ok(kill(0, $daemon_pid), 'daemon still running with carbon down');
my $restart = int(time) + 1;
ok(carbon_start(), 'carbon-cache restarted on the same port');
ok(wait_for(70, sub { $st = graphite_status(); $st =~ /state=connected/ && $st =~ /reconnects=[1-9]/ }),
   'daemon reconnected (back-off at most 60 s)')
	or diag($st);
diag($st);
# wait for the workload's end (it may end before the reconnection, when
# carbon is slow to start: the back-off is then 8 s)
go_and_wait($w2);
is($w2->{status}, 0, "workload 2: $N2 x ${MS2} ms nanosleep");
# Data resumes: a third workload, after the reconnection and after the
# second one's last push: the points after T3 add up to exactly N3.
my ($N3, $MS3) = (25, 20);
sleep 2;
my $t3 = int(time);
my $w3 = workload('sleep', $N3, $MS3);
push @workloads, $w3;
into_cgroup($w3->{pid});
sleep 0.05 while time < $t3 + 1; # its samples: pushed at T3 + 1 or later
go_and_wait($w3);
is($w3->{status}, 0, "workload 3: $N3 x ${MS3} ms nanosleep");
my @after;
wait_for(20, sub { @after = grep { $_->[0] > $t3 } fetch("$m.count"); sum(map { $_->[1] } @after) >= $N3 });
is(sum(map { $_->[1] } @after), $N3, "data resumes: the points after the reconnection add up to $N3")
	or diag(join ' ', map { "$_->[0]=$_->[1]" } fetch("$m.count"));
my @before = grep { $_->[0] >= $restart && $_->[0] <= $t3 && $_->[1] > 0 } fetch("$m.count");
diag(scalar(@before) . " points of workload 2 after carbon's restart (queued or pushed after the reconnection)");
my @drop2 = grep { $_->[0] >= $restart } fetch("$PREFIX._daemon.graphite_dropped");
ok(@drop2 && $drop2[-1][1] > 0, "the drops are pushed too (_daemon.graphite_dropped = ${\(@drop2 ? $drop2[-1][1] : 'none')})");
ok(kill(0, $daemon_pid), 'daemon still running');

# ---- 3. JSON lines ----
kill 'TERM', $daemon_pid;
waitpid $daemon_pid, 0;
is($? >> 8, 0, 'daemon stopped cleanly (SIGTERM)');
$daemon_pid = undef;
my (@out, $bad);
open my $jf, '<', "$dir/events.json" or die "events.json: $!";
while (my $l = <$jf>) {
	my $o = eval { decode_json($l) };
	if (!$o) { $bad++; diag("not JSON: $l"); next; }
	push @out, $o;
}
close $jf;
ok(!$bad && @out, 'events.json: every line a JSON object (' . scalar(@out) . ' lines)');
my @sl = grep { $_->{type} eq 'outlier' && $_->{comm} eq 'lt-sleeper' && ($_->{syscall} // '') eq 'clock_nanosleep' } @out;
is(scalar(grep { $_->{pid} != $w->{pid} && $_->{pid} != $w2->{pid} && $_->{pid} != $w3->{pid} } @sl), 0,
   'events.json: no outlier from outside the cgroup');
my @d1 = map { $_->{delay_ns} } grep { $_->{pid} == $w->{pid} } @sl;
my @d2 = map { $_->{delay_ns} } grep { $_->{pid} == $w2->{pid} } @sl;
is(scalar @d1, $N1, "events.json: $N1 outliers of workload 1 (comm lt-sleeper, clock_nanosleep)");
is(scalar @d2, $N2, "events.json: $N2 outliers of workload 2");
is(scalar(grep { $_->{pid} == $w3->{pid} } @sl), $N3, "events.json: $N3 outliers of workload 3");
my ($med1, $med2) = (median(@d1) // 0, median(@d2) // 0);
ok($med1 >= $MS1 * 1e6 && $med1 < $MS1 * 1e6 * 1.2, sprintf('workload 1 median delay %.2f ms (%d ms sleeps)', $med1 / 1e6, $MS1));
ok($med2 >= $MS2 * 1e6 && $med2 < $MS2 * 1e6 * 1.2, sprintf('workload 2 median delay %.2f ms (%d ms sleeps)', $med2 / 1e6, $MS2));
diag('daemon stderr: ' . slurp("$dir/daemon.err"));

done_testing();
