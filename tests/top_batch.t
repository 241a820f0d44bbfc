#!/usr/bin/perl
# latrack top --batch on the live kernel: a process with a known comm doing
# N x nanosleep(30 ms) appears as its own class (one per process) with the
# right count and p50, in the per-refresh table, the selected-class detail
# (1 m / 5 m / 1 h) and the outlier pane.  Also the options' errors, and
# trace input errors (tests/top_trace.t tests trace input).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use File::Spec;
use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

my $B = B();

# Options and trace input: no root needed for these.
is(system("$B/latrack top --help >/dev/null 2>&1") >> 8, 0, '--help exits 0');
like(`$B/latrack top --help 2>&1`, qr/Examples:.*latrack top -b -n 3/s, '--help has examples');
my $msg = `$B/latrack top --batch /nonexistent/trace 2>&1`;
is($? >> 8, 2, 'latrack top NOT-A-TRACE: exit 2');
like($msg, qr/neither a tracker .* nor a trace directory/, 'latrack top NOT-A-TRACE: says so');
$msg = `$B/latrack top --batch --live net://127.0.0.1:1/host/x/y 2>&1`;
is($? >> 8, 1, '--live URL with no relay: exit 1');
like($msg, qr/live session failed/, '--live URL with no relay: says so');
is(system("$B/latrack top --batch -d 0 >/dev/null 2>&1") >> 8, 2, 'bad -d: exit 2');
is(system("$B/latrack top --batch -s nope >/dev/null 2>&1") >> 8, 2, 'bad --sort: exit 2');
is(system("$B/latrack top --batch -T nope >/dev/null 2>&1") >> 8, 2, 'bad -T: exit 2');
is(system("$B/latrack top </dev/null >/dev/null 2>&1") >> 8, 2, 'no terminal and no --batch: exit 2');

require_bpf();

my ($N, $MS) = (40, 30);
my $dir = tempdir(CLEANUP => 1);
# The process's comm is its executable's name: a known one.
symlink(File::Spec->rel2abs("$B/tests/lt_workload"), "$dir/lt-top-wl") or die "symlink: $!";

sub dur_ns {
	my ($s) = @_;
	my %u = (ns => 1, us => 1e3, ms => 1e6, s => 1e9);
	return $s =~ /^([\d.]+)(ns|us|ms|s)$/ ? $1 * $u{$2} : undef;
}

# Start the workload (it waits for SIGUSR1), then latrack top --batch,
# measuring only the workload's process (-p): unfiltered, on a machine
# busy with short-lived processes, the kernel's class map can be full
# (hist_full) before the workload's class gets a place.
my $w;
{
	my $pid = open(my $fh, '-|', "$dir/lt-top-wl", 'sleep', $N, $MS) or die "lt_workload: $!";
	my $line = <$fh> // die 'lt_workload printed nothing';
	my ($p, $t) = $line =~ /^pid (\d+) tid (\d+)/ or die "bad line $line";
	$w = { pid => $p, tid => $t, fh => $fh };
}
my ($out, $err) = ("$dir/out", "$dir/err");
my $top = fork // die;
if (!$top) {
	open STDOUT, '>', $out or POSIX::_exit(127);
	open STDERR, '>', $err or POSIX::_exit(127);
	{ no warnings 'exec'; exec "$B/latrack", 'top', '--batch', '-n', 3, '-d', 1, '-T', 'syscall', '--rows', 100000,
		'-p', $w->{pid}; }
	POSIX::_exit(127);
}
my $t0 = time;
my $started = 0;
while (time - $t0 < 30) {
	$started = 1, last if `cat $err` =~ /Ctrl-C to end/;
	last if waitpid($top, POSIX::WNOHANG()) == $top;
	sleep 0.05;
}
ok($started, 'latrack top --batch starts') or diag(`cat $err`);
my @rounds = rounds(go_and_wait($w));
is(scalar @rounds, $N, "the workload slept $N times");
my $done = 0;
$t0 = time;
while (time - $t0 < 60) {
	$done = 1, last if waitpid($top, POSIX::WNOHANG()) == $top;
	sleep 0.1;
}
ok($done, 'latrack top -n 3 exits by itself');
if (!$done) { kill 'KILL', $top; waitpid $top, 0; }
is($? >> 8, 0, 'exit status 0');
my $text = `cat $out`;
my @ref = split /^(?=latrack top  )/m, $text;
is(scalar @ref, 3, '-n 3: three refreshes') or diag($text);
is(scalar(grep { /\e/ } split /\n/, $text), 0, 'no escape character in the output');

# PID COMM SYSCALL COUNT P50 P99 MAX TIME ALL
my $row_re = qr/^[ >]\s*(\d+) (.{24}) (.{24})\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)$/;
my (@counts, $last_row);
for my $r (@ref) {
	my ($row) = grep { /$row_re/ && $1 == $w->{pid} && $3 =~ /^(clock_)?nanosleep\s*$/ }
		    split /\n/, $r;
	my @f = $row ? $row =~ $row_re : ();
	push @counts, @f ? $f[3] : 0;
	$last_row = [@f] if @f;
}
ok($last_row, "the workload's class: pid $w->{pid}, comm lt-top-wl, nanosleep")
	or diag($text);
$last_row //= [];
like($last_row->[1] // '', qr/^lt-top-wl\s*$/, 'its COMM column is the process name');
is($last_row->[8], $N, "ALL (since start) = $N calls");
is(eval { my $s = 0; $s += $_ for @counts; $s }, $N, "the COUNT of each refresh adds up to $N")
	or diag("@counts");
my ($rowp50) = map { dur_ns($_->[4]) } grep { $_->[3] > 0 } map { [ $_ =~ $row_re ] }
	grep { /$row_re/ && $1 == $w->{pid} && $3 =~ /nanosleep/ } split /\n/, $text;
# the workload's own timing of its sleeps (a loaded machine sleeps a little longer)
# Each syscall lies inside a round the workload timed, so its delay is at
# most that round's length, and the k-th smallest delay at most the k-th
# smallest round.  30 ms (+-3) on a quiet machine; on a loaded one the
# rounds themselves are longer, and the bound follows them.
my @len = sort { $a <=> $b } map { $_->[1] - $_->[0] } @rounds;
sub upper { my ($v) = @_; return $v * 1.016 + 1e6 > 33e6 ? $v * 1.016 + 1e6 : 33e6; }
ok(defined $rowp50 && $rowp50 >= $MS * 1e6 * 0.985 && $rowp50 <= upper($len[-1] // 0),
   "P50 over a refresh interval ~ $MS ms (30 ms to 33 ms, or the longest round timed on a loaded machine)")
	or diag(($rowp50 // 'none') . " vs rounds @len");

# Filtered to the process (-p in the kernel, -f on the screen), with the
# detail of every class: the workload's 1 m / 5 m / 1 h and its ranges.
{
	my $pid = open(my $fh, '-|', "$dir/lt-top-wl", 'sleep', 20, $MS) or die;
	my ($p) = <$fh> =~ /^pid (\d+)/;
	my $o = "$dir/out2";
	my $tp = fork // die;
	if (!$tp) {
		open STDOUT, '>', $o or POSIX::_exit(127);
		open STDERR, '>', "$dir/err2" or POSIX::_exit(127);
		{ no warnings 'exec'; exec "$B/latrack", 'top', '--batch', '-n', 2, '-d', 1, '-T', 'syscall', '-p', $p, '-f', 'lt-top-wl',
		     '--details', 10; }
		POSIX::_exit(127);
	}
	$t0 = time;
	sleep 0.05 until `cat $dir/err2` =~ /Ctrl-C to end/ || time - $t0 > 30;
	kill 'USR1', $p;
	my @r2 = rounds(<$fh>);
	close $fh;
	waitpid $tp, 0;
	my $t2 = `cat $o`;
	my @blocks = split /^(?=latrack top  )/m, $t2;
	my ($d) = $blocks[-1] =~ /^((?:clock_)?nanosleep lt-top-wl\[$p\]: (\d+) in all.*?)(?:\n\n|\z)/ms;
	ok($d, '-p PID -f COMM: the detail block is the workload\'s class') or diag($t2);
	my ($p50) = ($d // '') =~ /^\s+p50\s+(\S+)/m;
	my ($n1m) = ($d // '') =~ /^\s+n\s+(\d+)/m;
	my @len2 = sort { $a <=> $b } map { $_->[1] - $_->[0] } @r2;
	my $med2 = $len2[$#len2 / 2] // 0; # the same rank as the nearest-rank p50 of 20
	ok(defined $p50 && dur_ns($p50) >= $MS * 1e6 * 0.985 && dur_ns($p50) <= upper($med2),
	   "detail: p50 over 1 m ~ $MS ms (30 to 33 ms, or at most the median round timed)")
		or diag(($d // '') . " vs median round $med2");
	is($n1m, 20, 'detail: 20 calls in the last minute');
	like($d // '', qr/^\S+ lt-top-wl\[$p\]: 20 in all, 20 outliers, /, 'detail: 20 in all, 20 outliers (all over 10 ms)');
	like($d // '', qr/\|#+ *\| \d+$/m, 'detail: histogram bars');
	like($blocks[-1], qr/^ \d\d:\d\d:\d\d slow\s+$p lt-sleeper\s+(clock_)?nanosleep\s+3\d\.\d\dms$/m,
	     'outlier pane: the sleeping thread, its class and delay');
}

# A process name with control bytes: escaped as \xNN, never sent raw.
{
	my $esc = "lt\e[31mtop\a";
	symlink(File::Spec->rel2abs("$B/tests/lt_workload"), "$dir/$esc") or die "symlink: $!";
	my $pid = open(my $fh, '-|', "$dir/$esc", 'sleep', 5, $MS) or die;
	my ($p) = <$fh> =~ /^pid (\d+)/;
	my $o = "$dir/out3";
	my $tp = fork // die;
	if (!$tp) {
		open STDOUT, '>', $o or POSIX::_exit(127);
		open STDERR, '>', "$dir/err3" or POSIX::_exit(127);
		{ no warnings 'exec'; exec "$B/latrack", 'top', '--batch', '-n', 2, '-d', 1, '-T', 'syscall', '-p', $p; }
		POSIX::_exit(127);
	}
	$t0 = time;
	sleep 0.05 until `cat $dir/err3` =~ /Ctrl-C to end/ || time - $t0 > 30;
	kill 'USR1', $p;
	my @r3 = <$fh>;
	close $fh;
	waitpid $tp, 0;
	my $t3 = `cat $o`;
	like($t3, qr/^\s+$p lt\\x1b\[31mtop\\x07 +\S*nanosleep /m, 'a comm with control bytes is shown escaped')
		or diag($t3);
	unlike($t3, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'no control byte reaches the output');
}

done_testing();
