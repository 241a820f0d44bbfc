#!/usr/bin/perl
# `latrack ctl` against a running `latrack daemon` (root, BPF): every
# command, and the requests the daemon must refuse.
#
# The daemon measures only the syscall tracker, filtered to the workload's
# measured thread, named for this run alone (other tests may run workloads
# at the same time), so its counters are exact: N sleeps
# of 60 ms are N samples of nanosleep, and N outliers exactly when the
# threshold is below 60 ms.  Expected figures come from the workload's
# arguments, not from the daemon.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(sleep time);
use LtTest;

require_bpf();

my $B = B();
my $L = "$B/latrack";
# In /tmp whatever TMPDIR says: the client run as nobody must reach the socket.
my $D = tempdir('latrack-dctl-XXXXXX', DIR => '/tmp', CLEANUP => 1);
chmod 0755, $D;
my $SOCK = "$D/run/ctl.sock";
my $CONF = "$D/latrack.conf";
my $COMM = 'lt-dctl-' . ($$ % 100000);
$ENV{LT_WORKLOAD_NAME} = $COMM; # lt_workload names its measured thread so

open(my $cf, '>', $CONF) or die;
print $cf <<"EOF";
[daemon]
socket = $SOCK
tick = 500ms
[syscall]
threshold = 200ms
timeout = 1s
comm = $COMM
${\ only_syscall_conf()}
[prometheus]
enabled = false
EOF
close $cf;

# ---- start the daemon ----------------------------------------------------------
my $derr = "$D/daemon.err";
my $dpid = daemon_start($CONF, $derr);
my $t0 = time;
until (slurp($derr) =~ /running: / || time - $t0 > 30) {
	last if waitpid($dpid, POSIX::WNOHANG()) == $dpid;
	sleep 0.1;
}
ok(slurp($derr) =~ /running: syscall>/, 'daemon running (syscall tracker only)')
	or BAIL_OUT('daemon did not start: ' . slurp($derr));

END {
	if ($dpid && kill(0, $dpid)) {
		kill 'KILL', $dpid;
		waitpid $dpid, 0;
	}
}

# `latrack ctl ARGS` → (exit, stdout, stderr); @pre runs it through setpriv.
sub ctl {
	my ($pre, @args) = @_;
	my $pid = fork // die;
	if (!$pid) {
		open(STDOUT, '>', "$D/ctl.out") or POSIX::_exit(127);
		open(STDERR, '>', "$D/ctl.err") or POSIX::_exit(127);
		exec(@$pre, $L, 'ctl', @args) or POSIX::_exit(127);
	}
	waitpid $pid, 0;
	return ($? >> 8, slurp("$D/ctl.out"), slurp("$D/ctl.err"));
}

sub raw {
	my ($bytes) = @_;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $SOCK) or return "connect: $!";
	$s->send($bytes) if length $bytes;
	local $/;
	my $r = <$s>;
	close $s;
	return $r // '';
}

sub ns_of {
	my ($s) = @_;
	return undef if $s eq '-';
	my ($v, $u) = $s =~ /^([\d.]+)(ns|us|ms|s)$/ or return undef;
	return int($v * { ns => 1, us => 1e3, ms => 1e6, s => 1e9 }->{$u} + 0.5);
}

# Parsed `ctl status`: tracker => {state, threshold, timeout (ns), samples, outliers, stuck, lost}.
sub status {
	my ($rc, $out, $err) = ctl([], '-s', $SOCK, 'status');
	my %t;
	for (split /\n/, $out) {
		next unless /^(\w+)\s+(on|off|not-loaded)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/;
		$t{$1} = { state => $2, threshold => ns_of($3), timeout => ns_of($4), samples => $5,
			   outliers => $6, stuck => $7, changes => $8, lost => $9 };
	}
	return ($rc, $out, \%t);
}

# Run lt_workload sleep N MS, and wait until the daemon has counted its N
# samples (outliers come through the ring buffer, samples at the next
# 500 ms tick), then one more tick: anything counted late shows too.  The
# wait is long because other tests may load the machine.
sub sleeps {
	my ($n, $ms, %o) = @_;
	my (undef, undef, $st) = status();
	my $want = $st->{syscall}{samples} + $n;
	my $w = workload('sleep', $n, $ms);
	go_and_wait($w);
	my $t = time;
	while (!$o{disabled} && time - $t < 15) {
		(undef, undef, $st) = status();
		last if $st->{syscall}{samples} >= $want;
		sleep 0.2;
	}
	sleep($o{disabled} ? 1.5 : 0.6);
}

# ---- socket ------------------------------------------------------------------------
is(sprintf('%04o', (stat $SOCK)[2] & 07777), '0600', 'control socket is 0600');
is(sprintf('%04o', (stat "$D/run")[2] & 07777), '0700', 'its directory, created by the daemon, is 0700');

# ---- status -----------------------------------------------------------------------------
my ($rc, $out, $st) = status();
is($rc, 0, 'ctl status: exit 0');
like($out, qr/^ok\n/, 'status reply starts with ok');
like($out, qr/^TRACKER\s+STATE\s+THRESHOLD\s+TIMEOUT\s+SAMPLES\s+OUTLIERS\s+STUCK/m, 'status has the tracker table');
is(scalar(keys %$st), 6, 'status lists the six trackers');
is($st->{syscall}{state}, 'on', 'syscall on');
is($st->{syscall}{threshold}, 200_000_000, 'syscall threshold 200ms (from the file)');
is($st->{syscall}{timeout}, 1_000_000_000, 'syscall timeout 1s (from the file)');
is($st->{$_}{state}, 'not-loaded', "$_ not loaded (enabled = false)") for qw(wakeup offcpu block irq net);
like($out, qr/^lost:/m, 'status shows loss counters');
like($out, qr/^classes: /m, 'status shows classes');

($rc, $out) = ctl([], '-c', $CONF, 'status');
ok($rc == 0 && $out =~ /^ok\n/, 'ctl -c CONFIG finds the socket in [daemon] socket');

# ---- counters and thresholds ----------------------------------------------------------
ctl([], '-s', $SOCK, 'reset');
sleeps(4, 60);
(undef, undef, $st) = status();
my $base = $st->{syscall};
ok($base->{samples} >= 4, "4 sleeps of 60 ms: at least 4 samples (got $base->{samples})");
is($base->{outliers}, 0, 'threshold 200ms: no outlier for 60 ms sleeps');

($rc, $out) = ctl([], '-s', $SOCK, 'set', 'syscall', 'threshold', '40ms');
ok($rc == 0 && $out eq "ok\n", 'set syscall threshold 40ms: ok');
(undef, undef, $st) = status();
is($st->{syscall}{threshold}, 40_000_000, 'status shows the new threshold');
sleeps(3, 60);
(undef, undef, $st) = status();
is($st->{syscall}{outliers} - $base->{outliers}, 3, '3 sleeps of 60 ms over 40ms: 3 outliers');
ok($st->{syscall}{samples} - $base->{samples} >= 3, 'and at least 3 more samples');

($rc, $out) = ctl([], '-s', $SOCK, 'set', 'syscall', 'threshold', '100');
(undef, undef, $st) = status();
is($st->{syscall}{threshold}, 100_000_000, 'a bare threshold is in ms (100 -> 100ms)');

# Timeout: a 700 ms sleep outlives a 200 ms timeout (the sweep runs every 250 ms).
($rc, $out) = ctl([], '-s', $SOCK, 'set', 'syscall', 'timeout', '200ms');
is($rc, 0, 'set syscall timeout 200ms: ok');
(undef, undef, $st) = status();
is($st->{syscall}{timeout}, 200_000_000, 'status shows the new timeout');
my $stuck0 = $st->{syscall}{stuck};
sleeps(1, 700);
(undef, undef, $st) = status();
is($st->{syscall}{stuck} - $stuck0, 1, 'one 700 ms sleep: reported stuck once');
($rc, $out, my $err) = ctl([], '-s', $SOCK, 'set', 'syscall', 'timeout', '1');
(undef, undef, $st) = status();
is($st->{syscall}{timeout}, 1_000_000_000, 'a bare timeout is in s (1 -> 1s)');

# ---- enable / disable ------------------------------------------------------------------------
($rc, $out) = ctl([], '-s', $SOCK, 'disable', 'syscall');
ok($rc == 0 && $out eq "ok\n", 'disable syscall: ok');
(undef, undef, $st) = status();
is($st->{syscall}{state}, 'off', 'status: syscall off');
my $before = $st->{syscall};
sleeps(2, 150, disabled => 1);
(undef, undef, $st) = status();
is($st->{syscall}{outliers}, $before->{outliers}, 'disabled: 150 ms sleeps are not outliers');
is($st->{syscall}{samples}, $before->{samples}, 'disabled: no samples');
($rc, $out) = ctl([], '-s', $SOCK, 'enable', 'syscall');
ok($rc == 0 && $out eq "ok\n", 'enable syscall: ok');
(undef, undef, $st) = status();
is($st->{syscall}{state}, 'on', 'status: syscall on again');
sleeps(2, 150);
(undef, undef, $st) = status();
is($st->{syscall}{outliers} - $before->{outliers}, 2, 'enabled again: two 150 ms sleeps over 100ms: 2 outliers');

($rc, $out, $err) = ctl([], '-s', $SOCK, 'enable', 'wakeup');
is($rc, 1, 'enable a tracker not loaded: error reply, exit 1');
like($err, qr/^error: wakeup is not loaded/, '... saying it is not loaded');

# ---- reset ----------------------------------------------------------------------------------------
($rc, $out) = ctl([], '-s', $SOCK, 'reset');
ok($rc == 0 && $out eq "ok\n", 'reset: ok');
sleep 1.2;
(undef, undef, $st) = status();
is(join(' ', map { $st->{syscall}{$_} } qw(samples outliers stuck)), '0 0 0', 'after reset: samples, outliers, stuck are 0');
is($st->{syscall}{threshold}, 100_000_000, 'reset keeps the threshold');
sleeps(1, 150);
(undef, undef, $st) = status();
is($st->{syscall}{outliers}, 1, 'counting resumes after reset: 1 outlier');

# ---- errors from the daemon ----------------------------------------------------------------------
($rc, $out, $err) = ctl([], '-s', $SOCK, 'set', 'net', 'timeout', '0');
is($rc, 0, 'set net timeout 0 (never, as in the configuration): ok');
($rc, $out, $err) = ctl([], '-s', $SOCK, 'set', 'net', 'timeout', '1s');
is($rc, 2, 'set net timeout 1s: refused by the client (usage, exit 2)');
like($err, qr/the net tracker has no timeout/, '... net has no timeout');
like(raw("set net timeout 1s\n"), qr/^error: net has no timeout/, '... and by the daemon when asked directly');
like(raw("frobnicate\n"), qr/^error: unknown request 'frobnicate'/, 'unknown request: error reply');
like(raw("set syscall threshold soon\n"), qr/^error: bad duration 'soon'/, 'bad duration: error reply');
like(raw("set nosuch threshold 1ms\n"), qr/^error: unknown tracker 'nosuch'/, 'unknown tracker: error reply');
like(raw("status extra words\n"), qr/^error: /, 'status with arguments: error reply');

# ---- malformed, oversized, idle ------------------------------------------------------------------------
is(raw("\n"), "error: empty request\n", 'empty request refused');
is(raw("sta\x00tus\n"), "error: request has bytes outside printable ASCII\n", 'NUL byte refused');
is(raw("status \xe2\x9c\x93\n"), "error: request has bytes outside printable ASCII\n", 'UTF-8 refused');
is(raw('status ' . ('x' x 2000) . "\n"), "error: request longer than 1024 bytes\n", 'oversized request refused');
is(raw(join(' ', ('reset') x 17) . "\n"), "error: too many words in the request (at most 16)\n", 'too many words refused');
{
	my $idle = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $SOCK) or die;
	my $t = time;
	($rc, $out) = ctl([], '-s', $SOCK, 'status');
	ok($rc == 0 && $out =~ /^ok\n/ && time - $t < 5, sprintf('status served while a client sits idle (%.2f s)', time - $t));
	my $r = do { local $/; <$idle> } // '';
	is($r, "error: no complete request line within 1 s\n", 'the idle client got an error reply');
}

# ---- non-root ---------------------------------------------------------------------------------------------
my @nobody = ('setpriv', '--reuid=65534', '--regid=65534', '--clear-groups');
chmod 0755, "$D/run";
($rc, $out, $err) = ctl(\@nobody, '-s', $SOCK, 'status');
ok($rc == 3 && $err =~ /permission denied \(the control socket is root-only/, 'nobody: refused by the 0600 socket (exit 3)')
	or diag("rc $rc err $err");
chmod 0666, $SOCK;
($rc, $out, $err) = ctl(\@nobody, '-s', $SOCK, 'reset');
ok($rc == 1 && $err eq "error: permission denied\n", 'nobody past the file mode: "error: permission denied" (peer uid)')
	or diag("rc $rc err $err");
(undef, undef, $st) = status();
is($st->{syscall}{outliers}, 1, "nobody's reset did not happen");
chmod 0600, $SOCK;
chmod 0700, "$D/run";

# ---- SIGHUP: the configuration file again; a broken one is refused -------------------
sub wait_log {
	my ($re) = @_;
	my $t = time;
	until (slurp($derr) =~ $re || time - $t > 15) { sleep 0.2 }
	return slurp($derr) =~ $re;
}
{
	my $conf = slurp($CONF);
	(my $new = $conf) =~ s/^threshold = 200ms$/threshold = 300ms/m or die;
	open(my $f, '>', $CONF) or die; print $f $new; close $f;
	kill 'HUP', $dpid;
	ok(wait_log(qr/configuration reloaded/), 'SIGHUP: configuration reloaded');
	(undef, undef, $st) = status();
	is($st->{syscall}{threshold}, 300_000_000, 'the file threshold (300ms) replaces the one set by ctl');
	my $lines = () = $new =~ /\n/g;
	open($f, '>>', $CONF) or die; print $f "[syscall]\nthreshold = forever\n"; close $f;
	kill 'HUP', $dpid;
	ok(wait_log(qr/reload: \Q$CONF\E:${\($lines + 2)}: \[syscall\] threshold: bad duration 'forever'.*keeping the running configuration/),
	   'SIGHUP with a bad value: the log names file:line, the daemon keeps running');
	(undef, undef, $st) = status();
	is($st->{syscall}{threshold}, 300_000_000, '... with the configuration it had');
	open($f, '>', $CONF) or die; print $f $new; close $f;
}

# ---- a second daemon, then stop ------------------------------------------------------------------------------
{
	my $out2 = `$L daemon -c $CONF 2>&1`;
	my $rc2 = $? >> 8;
	ok($rc2 != 0 && $out2 =~ /another daemon is listening on \Q$SOCK\E/, 'a second daemon on the same socket refuses to start')
		or diag($out2);
}
($rc, $out) = ctl([], '-s', $SOCK, 'status');
is($rc, 0, 'the first daemon still answers');

kill 'TERM', $dpid;
my $t1 = time;
while (time - $t1 < 20) {
	last if waitpid($dpid, POSIX::WNOHANG()) == $dpid;
	sleep 0.1;
}
my $exited = !kill(0, $dpid);
ok($exited, sprintf('daemon stops on SIGTERM (%.1f s)', time - $t1));
$dpid = 0 if $exited;
ok(!-e $SOCK, 'socket removed at exit') if $exited;
my $log = slurp($derr);
like($log, qr/ctl: syscall threshold = 40\.00ms/, 'daemon log records the threshold change');
like($log, qr/ctl: counters and histograms reset/, 'daemon log records the reset');
($rc, $out, $err) = ctl([], '-s', $SOCK, 'status');
ok($rc == 3 && $err =~ /no daemon listening on \Q$SOCK\E: start it with `latrack daemon`/, 'after stop: no daemon listening');

done_testing();
