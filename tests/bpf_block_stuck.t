#!/usr/bin/perl
# Stuck block requests: a request in flight longer than the block timeout
# is reported once as stuck, with its device, op, sector, bytes, submitter
# and state (queued or issued), and reported again as an outlier when it
# completes.
#
# How a request is made to hang, without device-mapper (no dm driver on
# the test machine, no modules): loop device B is backed by a file on an
# ext4 filesystem (itself on loop device A, from an image in TMPDIR) that
# is frozen (fsfreeze).  A direct write to B is issued to the loop driver,
# whose worker then blocks in the backing file's write (sb_start_write)
# until the filesystem is thawed: held for as long as the test wants.
# With more writers than the loop driver has tags and mq-deadline on B,
# the requests beyond the tags stay queued in the scheduler (inserted,
# never issued) until the thaw.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(sleep clock_gettime CLOCK_MONOTONIC);

my $B = B();

# --timeout parsing (no root needed: rejected before anything loads)
for my $bad ('block=0', 'wakeup=1s', 'bogus=1s', 'block=1parsec') {
	my $err = `$B/latrack run --timeout $bad 2>&1`;
	is($? >> 8, 2, "--timeout $bad: exit 2");
	like($err, qr/--timeout '/, "--timeout $bad: says which");
}

require_bpf();

sub unavailable {
	my ($why) = @_;
	if (($ENV{LATRACK_REQUIRE_BPF} // '') eq '1') {
		fail("cannot hold a block request: $why");
		done_testing();
		exit 1;
	}
	SKIP: { skip("cannot hold a block request: $why", 1) }
	done_testing();
	exit 0;
}

my $HOLD = 2.5; # s a request is held; the timeout is 1 s
my $dir = tempdir('latrack-stuck-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($loopA, $loopB, $mounted, $frozen, @kids, $latrack);

sub thaw {
	system('fsfreeze', '-u', "$dir/mnt") if $frozen;
	$frozen = 0;
}

sub retry {
	my ($try) = @_;
	for (1 .. 50) {
		return 1 if $try->();
		sleep 0.1;
	}
	diag('cleanup: a loop device or mount is left behind');
	return 0;
}

# On failure or a signal too: thaw first (unmounting a frozen ext4 leaves
# it frozen and its loop device busy), stop the writers and latrack, then
# detach and unmount.
sub cleanup {
	thaw();
	if ($latrack) {
		kill 'INT', $latrack->{pid};
		waitpid($latrack->{pid}, 0);
		$latrack = undef;
	}
	kill 'KILL', @kids if @kids;
	waitpid($_, 0) for @kids;
	@kids = ();
	# (udev may hold a device open for a moment: retry)
	for my $l ($loopB, 'mnt', $loopA) {
		next unless $l;
		if ($l eq 'mnt') {
			retry(sub { system('umount', "$dir/mnt") == 0 }) if $mounted;
			next;
		}
		my ($n) = $l =~ m{/dev/(loop\d+)} or next;
		retry(sub { system('losetup', '-d', $l); !-e "/sys/block/$n/loop" });
	}
	($loopA, $loopB, $mounted) = ();
}
END { my $rc = $?; cleanup(); $? = $rc; }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 1 };

for my $tool ('losetup', 'mkfs.ext4', 'fsfreeze') {
	unavailable("$tool not installed") unless grep { -x "$_/$tool" } qw(/usr/sbin /sbin /usr/bin);
}
truncate_file("$dir/fs.img", 64 << 20);
chomp($loopA = `losetup -f --show $dir/fs.img 2>&1`);
unless ($? == 0 && $loopA =~ m{^/dev/loop\d+$}) { my $e = $loopA; $loopA = undef; unavailable("losetup: $e") }
system("mkfs.ext4 -q $loopA >/dev/null 2>&1") == 0 or unavailable('mkfs.ext4 failed');
mkdir "$dir/mnt" or die "mkdir: $!";
system('mount', '-t', 'ext4', $loopA, "$dir/mnt") == 0 or unavailable('cannot mount ext4');
$mounted = 1;
truncate_file("$dir/mnt/back", 16 << 20);
chomp($loopB = `losetup -f --show $dir/mnt/back 2>&1`);
unless ($? == 0 && $loopB =~ m{^/dev/loop\d+$}) { my $e = $loopB; $loopB = undef; unavailable("losetup: $e") }
my ($name) = $loopB =~ m{/dev/(loop\d+)};
chomp(my $dev = `cat /sys/block/$name/dev`);
chomp(my $tags = `cat /sys/block/$name/mq/0/nr_tags 2>/dev/null` || '');
system("echo mq-deadline > /sys/block/$name/queue/scheduler 2>/dev/null");
my $sched_ok = `cat /sys/block/$name/queue/scheduler` =~ /\[mq-deadline\]/;

sub truncate_file {
	my ($f, $size) = @_;
	open my $fh, '>', $f or die "$f: $!";
	truncate($fh, $size) or die "truncate $f: $!";
	close $fh;
}

# Freeze, start N direct 4 KiB writes to B (writer i at sector 8 * (2i - 1):
# not adjacent, or the scheduler would merge them into fewer requests),
# hold, thaw; returns (pids, thaw time) once all writers are done.
sub hold_writes {
	my ($n) = @_;
	$frozen = 1; # first: a signal right after the freeze must still thaw
	system('fsfreeze', '-f', "$dir/mnt") == 0 or die 'fsfreeze -f failed';
	my $t0 = clock_gettime(CLOCK_MONOTONIC);
	for my $i (1 .. $n) {
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			open STDERR, '>', '/dev/null';
			{ no warnings 'exec'; exec 'dd', 'if=/dev/zero', "of=$loopB", 'bs=4k', 'count=1', "seek=" . (2 * $i - 1), 'oflag=direct'; }
			POSIX::_exit(127);
		}
		push @kids, $pid;
	}
	# held $HOLD s, and at least 2 s after the last writer started
	my $now = clock_gettime(CLOCK_MONOTONIC);
	my $left = $HOLD - ($now - $t0);
	sleep($left > 2 ? $left : 2);
	my $thaw_ns = int(clock_gettime(CLOCK_MONOTONIC) * 1e9);
	thaw();
	my @pids = @kids;
	my $ok = 0;
	for (@kids) { waitpid($_, 0); $ok++ if $? == 0 }
	@kids = ();
	is($ok, $n, "$n writer(s) done after the thaw");
	return (\@pids, $thaw_ns);
}

# One write held 2.5 s, timeout 1 s: one stuck report, then its outlier.
{
	my $l = $latrack = latrack_start('block', '--json', '--timeout', 'block=1s', '-m', '500ms');
	my ($pids, $thaw_ns) = hold_writes(1);
	my $pid = $pids->[0];
	my ($rc, $objs) = latrack_stop($l);
	$latrack = undef;
	is($rc, 0, 'exits 0');
	my @stuck = of_type($objs, 'stuck', tracker => 'block');
	is(scalar @stuck, 1, 'one request reported stuck, once') or diag(explain(\@stuck));
	my $s = $stuck[0] // {};
	is("$s->{dev}/$s->{disk}", "$dev/$name", 'stuck: on the held device');
	is("$s->{pid}/$s->{tid}/$s->{comm}", "$pid/$pid/dd", 'stuck: the submitting dd');
	is("$s->{class}/$s->{sector}/$s->{bytes}", 'W/8/4096', 'stuck: a 4 KiB write at sector 8');
	is($s->{state}, 'issued', 'stuck: issued (held in the driver)');
	ok(($s->{age_ns} // 0) >= 1e9 && $s->{age_ns} < 1.6e9, 'stuck: reported within a sweep of the timeout')
		or diag("age $s->{age_ns}");
	is($s->{queue_ns} + $s->{service_ns}, $s->{age_ns}, 'stuck: age = queued + in service so far');
	my @out = of_type($objs, 'outlier', tracker => 'block', dev => $dev);
	is(scalar @out, 1, 'then one outlier on the device when it completes');
	my $o = $out[0] // {};
	is("$o->{pid}/$o->{sector}/$o->{begin_ns}", "$pid/8/$s->{begin_ns}", 'outlier: the same request');
	ok(($o->{end_ns} // 0) >= $thaw_ns && $o->{delay_ns} >= $thaw_ns - $o->{begin_ns},
	   'outlier: completed after the thaw, delay covers the hold');
	ok(($o->{delay_ns} // 0) >= ($HOLD - 0.5) * 1e9, 'outlier: delay >= 2 s') or diag("delay $o->{delay_ns}");
	my ($w) = of_type($objs, 'summary', tracker => 'block', dev => $dev, class => 'W service', final => JSON::PP::true);
	is($w && $w->{count}, 1, 'histogram: the one write');
}

# More writers than the driver's tags, raw_tp hooks, text output: those
# beyond the tags are stuck queued, the others issued.
SKIP: {
	skip("mq-deadline or nr_tags unavailable on $name", 6) unless $sched_ok && $tags =~ /^\d+$/ && $tags <= 256;
	my $n = $tags + 3;
	my $l = $latrack = latrack_start('block', '--raw-tp', '--timeout', 'block=1s', '-m', '10s');
	my ($pids, $thaw_ns) = hold_writes($n);
	my ($rc, $objs) = latrack_stop($l, text => 1);
	$latrack = undef;
	is($rc, 0, 'text: exits 0');
	my @lines = map { $_->{line} } @$objs;
	my (%stuck, %state, $bad);
	for my $i (0 .. $#lines) {
		next unless $lines[$i] =~ /^\S+ block +W +STUCK for ([\d.]+)s  pid (\d+) tid \d+ "dd" cgroup \d+ \(still in flight, (issued|queued)\)$/;
		my ($age, $pid, $st) = ($1, $2, $3);
		$stuck{$pid}++;
		$state{$st}++;
		my $next = $lines[$i + 1] // '';
		$bad++ unless $next =~ /^    device \Q$name\E \(\Q$dev\E\) sector \d+ bytes 4096: / &&
			       ($st eq 'issued' ? $next =~ /in service for/ : $next =~ /not issued yet/) && $age >= 1;
	}
	my $all = grep { /STUCK/ } @lines;
	is($all, $n, "$n requests stuck") or diag(join '', grep { /STUCK/ } @lines[0 .. 20]);
	is(scalar(grep { ($stuck{$_} // 0) == 1 } @$pids), $n, 'each writer\'s request once');
	# how many mq-deadline dispatches before the driver stalls varies; at
	# most the driver's tags, and the first one holds the loop worker
	ok(($state{issued} // 0) >= 1 && $state{issued} <= $tags, "issued: 1..$tags (the driver's tags)")
		or diag(explain(\%state));
	ok(($state{queued} // 0) >= 3, 'queued in the scheduler: the rest, at least 3');
	ok(!$bad, 'each with its device, size and state line');
}

done_testing();
