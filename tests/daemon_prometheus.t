#!/usr/bin/perl
# The daemon's /metrics scraped by the real Prometheus server (Debian's
# prometheus, scrape interval 1 s), both on free loopback ports.  A known
# workload (build/tests/lt_workload sleep: N nanosleeps of MS ms) is
# started first, waiting; the daemon's
# configuration (a temporary file) runs the syscall tracker on that
# process only, so that the class count is exact and nothing else crowds
# the series cap.  The workload runs while both servers are up;
# then Prometheus's HTTP API (/api/v1/query) must hold, for the workload's
# class: _count = N (the calls the workload made), every bucket equal to
# the daemon's own /metrics and consistent with the workload's own timing,
# _sum equal to the daemon's, the outliers counted; and up = 1.  Both
# servers are stopped at the end, whatever happens (END block).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::IP;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

require_bpf();
my $B = B();
my $PROMETHEUS = $ENV{PROMETHEUS} // '/usr/bin/prometheus';
if (!-x $PROMETHEUS) {
	plan tests => 1;
	fail("$PROMETHEUS missing (Debian package prometheus)");
	exit 1;
}
my ($N, $MS) = (100, 20); # 20 ms: well inside (2^24, 2^25) ns = (16.8, 33.5) ms; 2 s in all
# Classes are per process name: the workload runs from a copy whose name
# holds a quote, a backslash and the byte 0xff.  The exporter shows a
# backslash as \x5c and a byte outside UTF-8 as \xff (docs/PROMETHEUS.md),
# then escapes for the format; PromQL strings use the same escapes.
my $RAW = "lt\"p\\x\xff";                  # the process name, 7 bytes
my $VALUE = 'lt"p\x5cx\xff';                # the label value in Prometheus
my $COMM = 'lt\"p\\\\x5cx\\\\xff';             # as written in /metrics and PromQL

my $dir = tempdir('latrack-prom-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my (%pid, $w);
# A signal (Ctrl-C, prove killed) exits through END too; a closed output
# pipe does not stop the test half-way.
$SIG{PIPE} = 'IGNORE';
$SIG{$_} = sub { $SIG{INT} = $SIG{TERM} = $SIG{HUP} = 'IGNORE'; exit 1 } for qw(INT TERM HUP);
END {
	my $rc = $?;
	kill 'KILL', $w->{pid} if $w && $w->{pid} && !defined $w->{status};
	stop_all();
	$? = $rc;
}

sub stop_all {
	# SIGTERM, then SIGKILL after 20 s (a daemon in a long tick)
	for my $name (sort keys %pid) {
		kill 'TERM', $pid{$name};
	}
	my $t0 = time;
	for my $name (sort keys %pid) {
		while (waitpid($pid{$name}, POSIX::WNOHANG()) == 0) {
			if (time - $t0 > 20) {
				diag("$name did not stop on SIGTERM within 20 s: SIGKILL");
				kill 'KILL', $pid{$name};
				waitpid($pid{$name}, 0);
				last;
			}
			sleep 0.1;
		}
		delete $pid{$name};
	}
}


sub spawn {
	my ($name, $log, @cmd) = @_;
	my $p = fork // die "fork: $!";
	if (!$p) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', $log or POSIX::_exit(127);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
		exec @cmd or POSIX::_exit(127);
	}
	$pid{$name} = $p;
}

# Stop here (not BAIL_OUT: the other test files still run); END cleans up.
sub give_up {
	diag(@_);
	done_testing();
	exit 1;
}


my $http = HTTP::Tiny->new(timeout => 5);


my $mport = free_port();
my $wport = free_port();
$mport = free_port() while $mport == $wport;

# --- the workload (waits for SIGUSR1) ---
{
	open my $in, '<:raw', "$B/tests/lt_workload" or die "lt_workload: $!";
	open my $out, '>:raw', "$dir/$RAW" or die "$dir/$RAW: $!";
	my $bin = do { local $/; <$in> };
	print {$out} $bin;
	close $out;
	chmod 0755, "$dir/$RAW";
	my $pid = open(my $fh, '-|', "$dir/$RAW", 'sleep', $N, $MS) or die "workload: $!";
	my $line = <$fh> // die 'workload printed nothing';
	my ($p, $t) = $line =~ /^pid (\d+) tid (\d+)/ or die "workload: bad line '$line'";
	$w = { pid => $p, tid => $t, fh => $fh };
	open my $cm, '<:raw', "/proc/$p/comm" or die "/proc/$p/comm: $!";
	$w->{comm} = <$cm>;
}

# --- the daemon ---
open my $cf, '>', "$dir/latrack.conf" or die;
print $cf <<"EOF";
[daemon]
socket = $dir/ctl.sock
tick = 1s

[syscall]
enabled = true
pid = $w->{pid}

${\ only_syscall_conf()}

[prometheus]
enabled = true
listen = 127.0.0.1:$mport
max_series = 1000
EOF
close $cf;
# (listen and socket on the command line too: never the defaults, which
# a running daemon may hold)
spawn('daemon', "$dir/daemon.log", "$B/latrack", 'daemon', '-c', "$dir/latrack.conf",
      '--set', "prometheus.listen=127.0.0.1:$mport", '--set', "daemon.socket=$dir/ctl.sock");
my $metrics_url = "http://127.0.0.1:$mport/metrics";
my $up = wait_for(60, sub {
	my $r = $http->get($metrics_url);
	return $r->{success} && $r->{content} =~ /^latrack_tracker_enabled\{tracker="syscall"\} 1$/m;
});
ok($up, "daemon serves /metrics on 127.0.0.1:$mport")
	or give_up('daemon does not start: ' . slurp("$dir/daemon.log"));
ok(($http->get($metrics_url)->{content} // '') =~ /^latrack_tracker_enabled\{tracker="wakeup"\} 0$/m,
   'daemon: the configuration file is in effect (wakeup disabled)')
	or give_up("the daemon ignored $dir/latrack.conf (a build without src/config.c?)");

# --- Prometheus ---
open my $pf, '>', "$dir/prometheus.yml" or die;
print $pf <<"EOF";
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: latrack
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF
close $pf;
spawn('prometheus', "$dir/prometheus.log", $PROMETHEUS, "--config.file=$dir/prometheus.yml",
      "--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$wport", '--log.level=warn');
my $api = "http://127.0.0.1:$wport/api/v1";

sub query {
	my ($q) = @_;
	my $r = $http->get("$api/query?query=" . join('', map { sprintf('%%%02X', ord) } split //, $q));
	return undef unless $r->{success};
	my $j = eval { decode_json($r->{content}) } or return undef;
	return $j->{status} eq 'success' ? $j->{data}{result} : undef;
}

ok(wait_for(30, sub { $http->get("http://127.0.0.1:$wport/-/ready")->{success} }),
   "prometheus ready on 127.0.0.1:$wport")
	or give_up('prometheus does not start: ' . slurp("$dir/prometheus.log"));
my $target_up = wait_for(30, sub {
	my $r = query('up{job="latrack"}');
	return $r && @$r && $r->[0]{value}[1] eq '1';
});
ok($target_up, 'prometheus scrapes the daemon: up{job="latrack"} = 1')
	or diag(slurp("$dir/prometheus.log"), $http->get("$api/targets")->{content} // '');

is($w->{comm}, "$RAW\n", 'the workload process is named lt"p\\x 0xff');

# --- the workload runs ---
my @rounds = rounds(go_and_wait($w));
is(scalar @rounds, $N, "workload: $N sleeps of $MS ms (pid $w->{pid})");
my @len = sort { $a <=> $b } map { $_->[1] - $_->[0] } @rounds;

# The daemon's view of the class, once it has all N samples.
my $sel = qr/\{syscall="(?:clock_)?nanosleep",comm="\Q$COMM\E"/;
sub daemon_series {
	my $r = $http->get($metrics_url);
	return undef unless $r->{success};
	my %s;
	for (split /\n/, $r->{content}) {
		next unless /^latrack_syscall_(latency_seconds_(?:bucket|sum|count)|outliers_total)$sel(?:,le="([^"]+)")?\} (\S+)$/;
		if (defined $2) { $s{bucket}{$2} = $3 } else { $s{$1} = $3 }
	}
	return \%s;
}
my $d = wait_for(30, sub {
	my $s = daemon_series();
	return $s && ($s->{latency_seconds_count} // 0) >= $N ? $s : undef;
});
ok($d, "daemon: the class ($COMM, nanosleep) has its $N samples")
	or diag(grep { /_count\{/ } split /\n/, $http->get($metrics_url)->{content} // '');
$d //= daemon_series() // {};
is($d->{latency_seconds_count}, $N, "daemon: _count = $N");

# Prometheus's view, once a scrape after the workload has landed.
my $qsel = "syscall=~\"(clock_)?nanosleep\",comm=\"$COMM\"";
my $pc = wait_for(30, sub {
	my $r = query("latrack_syscall_latency_seconds_count{$qsel}");
	return $r && @$r == 1 && $r->[0]{value}[1] == $N ? $r : undef;
});
ok($pc, "prometheus: one series for the class, _count = $N (the calls the workload made)")
	or diag(explain(query("latrack_syscall_latency_seconds_count{comm=\"$COMM\"}")));

is($pc ? $pc->[0]{metric}{comm} : undef, $VALUE, 'prometheus: label comm = lt"p\\x5cx\\xff (parsed by Prometheus itself)');
my $pb = query("latrack_syscall_latency_seconds_bucket{$qsel}") // [];
my %pb = map { $_->{metric}{le} => $_->{value}[1] } @$pb;
is(scalar keys %pb, scalar keys %{ $d->{bucket} // {} }, 'prometheus: as many buckets as the daemon (' . (scalar keys %pb) . ')');
my @diff = grep { ($pb{$_} // 'none') ne $d->{bucket}{$_} } sort keys %{ $d->{bucket} // {} };
ok(keys %pb && !@diff, 'prometheus: every bucket equals the daemon\'s /metrics')
	or diag(map { "le $_: prometheus " . ($pb{$_} // 'none') . ", daemon $d->{bucket}{$_}" } @diff);

# Each delay d is MS ms <= d <= the round the workload timed around it.
my @bad;
for my $le (keys %pb) {
	my $v = $pb{$le};
	if ($le eq '+Inf') {
		push @bad, "+Inf: $v" unless $v == $N;
		next;
	}
	my $le_ns = $le * 1e9;
	my $lo = grep { $_ <= $le_ns } @len;         # rounds that ended within le
	my $hi = $MS * 1e6 <= $le_ns ? $N : 0;       # a sleep lasts at least MS
	push @bad, "le $le: $v not in [$lo, $hi]" unless $v >= $lo && $v <= $hi;
}
ok(keys %pb && !@bad, "prometheus: buckets agree with the workload's timing (0 below $MS ms, $N past the longest round, "
   . sprintf('%.2f ms', $len[-1] / 1e6) . ')') or diag(@bad);
my $b25 = $pb{'0.033554431'};
my $b24 = $pb{'0.016777215'};
ok(defined $b24 && $b24 == 0 && (defined $b25 && ($b25 == $N || $len[-1] > 33554431)),
   "le 0.016777215 (2^24 ns - 1): 0, le 0.033554431 (2^25 ns - 1): $N");

my $ps = query("latrack_syscall_latency_seconds_sum{$qsel}");
ok($ps && @$ps == 1 && abs($ps->[0]{value}[1] - $d->{latency_seconds_sum}) <= 1e-9 * $d->{latency_seconds_sum},
   "prometheus: _sum = the daemon's ($d->{latency_seconds_sum} s)");
ok($d->{latency_seconds_sum} >= $N * $MS / 1000 && $d->{latency_seconds_sum} * 1e9 <= eval { my $t = 0; $t += $_ for @len; $t },
   "_sum between N x MS and the sum of the workload's rounds");
# Outliers: every sleep is over the 10 ms threshold (and the main thread
# waits for the sleeper in a futex: N + 1 in all).  Per class, Prometheus
# must hold what the daemon says: the engine attributes an outlier to a
# class it knows, so the ones that arrive before the class's first tick
# are counted for the tracker only (about 1 s of sleeps: 84 of 100 seen).
my $po = query('latrack_outliers_total{tracker="syscall"}');
my ($dot) = ($http->get($metrics_url)->{content} // '') =~ /^latrack_outliers_total\{tracker="syscall"\} (\d+)$/m;
ok($po && @$po == 1 && $po->[0]{value}[1] == ($dot // -1) && $dot >= $N && $dot <= $N + 1,
   "latrack_outliers_total{tracker=\"syscall\"}: prometheus = daemon = " . ($dot // 'none') . " (the $N sleeps, the main thread's futex wait)")
	or diag('prometheus ' . ($po && @$po ? $po->[0]{value}[1] : 'none') . ', daemon ' . ($dot // 'none'));
my $pco = query("latrack_syscall_outliers_total{$qsel}");
ok($pco && @$pco == 1 && $pco->[0]{value}[1] == $d->{outliers_total} && $d->{outliers_total} > 0
   && $d->{outliers_total} <= $N, "per-class outliers_total: prometheus = daemon ($d->{outliers_total} of $N)");
my $pq = query("histogram_quantile(0.5, latrack_syscall_latency_seconds_bucket{$qsel})");
ok($pq && @$pq == 1 && $pq->[0]{value}[1] > 0.016 && $pq->[0]{value}[1] < 0.034,
   'histogram_quantile(0.5) in the (16.8 ms, 33.5 ms] bucket: ' . ($pq && @$pq ? $pq->[0]{value}[1] : 'none'));
my $pl = query('latrack_lost_events_total{tracker="syscall"}');
is(scalar @{ $pl // [] }, 4, 'loss counters scraped: syscall x 4 reasons');
{
	open my $m, '>', "$dir/metrics.txt" or die;
	print $m $http->get($metrics_url)->{content} // '';
	close $m;
	my $out = `promtool check metrics < '$dir/metrics.txt' 2>&1`;
	ok($? == 0, 'promtool check metrics accepts the daemon\'s /metrics') or diag($out);
}

# The exporter's status line in `latrack ctl status`.
{
	my $st = `'$B/latrack' ctl -s '$dir/ctl.sock' status 2>&1`;
	my ($line) = $st =~ /^(prometheus: .*)$/m;
	ok($line && $line =~ /^prometheus: listening on 127\.0\.0\.1:$mport, (\d+) scrapes, (\d+) series, 0 folded, errors 0\b/
	   && $1 >= 3 && $2 >= 1, 'ctl status: ' . ($line // 'no prometheus line')) or diag($st);
}

# --- the end: both stop on SIGTERM ---
my %rc;
for my $name ('daemon', 'prometheus') {
	kill 'TERM', $pid{$name};
	my $t0 = time;
	while (waitpid($pid{$name}, POSIX::WNOHANG()) == 0 && time - $t0 < 20) { sleep 0.1 }
	$rc{$name} = time - $t0 < 20 ? $? >> 8 : 'timeout';
	if ($rc{$name} eq 'timeout') { kill 'KILL', $pid{$name}; waitpid($pid{$name}, 0) }
	delete $pid{$name};
}
is($rc{daemon}, 0, 'daemon exits 0 on SIGTERM') or diag(slurp("$dir/daemon.log"));
is($rc{prometheus}, 0, 'prometheus exits 0 on SIGTERM');
done_testing();
