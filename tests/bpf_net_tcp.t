#!/usr/bin/perl
# net tracker, TCP receive delivery: a TCP connection over a veth pair
# between two network namespaces made by the test (198.51.100.0/24,
# TEST-NET-2, only inside them).  The reader (tests/bpf/tcp_pair.pl) tells
# the sender what to send and reads with known delays; both timestamp with
# CLOCK_MONOTONIC.  Each recv()'s delay must be "now - arrival of the
# oldest byte it took": about 20 ms for one message read 20 ms after it was
# sent, the first message's (30 ms) for one recv() of two messages, and the
# whole wait for the second half of a message read in two.  MSG_PEEK must
# neither count nor consume.  The expected values come from the workload's
# own timestamps (send -> recv return windows).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use NetPair;
use Test::More;
use POSIX ();

require_bpf();

my $ip = $NetPair::IP;
need_or_skip('iproute2 (ip) not installed') unless $ip;

my ($N, $SLEEP_MS, $PORT) = (10, 20, 5557);
my ($nsa, $nsb) = ("lt-tcp-a-$$", "lt-tcp-b-$$");
my ($va, $vb) = ("ltt${$}a", "ltt${$}b"); # device names: at most 15 bytes
my ($aa, $ab, $ac) = ('198.51.100.1', '198.51.100.2', '198.51.100.3');
my $err = veth_pair($nsa, $nsb, $va, $vb, $aa, $ab, $ac);
need_or_skip("cannot make the network namespaces: $err") if $err;

my ($ifb) = (sh("$ip -n $nsb -o link show $vb"))[1] =~ /^(\d+):/;

# Reader in namespace B, sender in A (NetPair::ns_run_pair); each side:
# [script, arguments...].
sub run_pair {
	my ($rcmd, $scmd) = @_;
	return ns_run_pair($nsa, $nsb, $rcmd // ['tcp_pair.pl', 'recv', $ab, $PORT, $N, $SLEEP_MS],
			   $scmd // ['tcp_pair.pl', 'send', $ab, $PORT]);
}

for my $hook ('tp_btf', 'raw_tp') {
	my @extra = $hook eq 'raw_tp' ? ('--raw-tp') : ();
	# only the reader (--comm): other programs' TCP on this machine would
	# crowd the ring buffer with their own outliers
	my $l = latrack_start('net', '--json', '-m', '1ms', '--comm', 'lt-tcp-reader', @extra);
	ok($l, "$hook: latrack run net starts") or next;
	my @lines = run_pair();
	my ($rc, $objs) = latrack_stop($l);
	is($rc, 0, "$hook: exits 0");

	my ($reader) = map { /^ready (\d+)/ ? $1 : () } $lines[0];
	my (%sent, @recvs, @peeks);
	for (@lines) {
		$sent{$1} = $2 if /^send (\d+) (\d+)/;
		push @recvs, { k => $1, bytes => $2, t => $3 } if /^recv (\d+) (\d+) (\d+)/;
		push @peeks, { k => $1, t => $3 } if /^peek (\d+) (\d+) (\d+)/;
	}
	my $nrecv = $N + 4; # N rounds, two messages in one, the read after the peek, a message in two
	is(scalar @recvs, $nrecv, "$hook: workload did $nrecv recv()s");
	ok(grep(/^eof/, @lines), "$hook: reader saw the end of the stream");

	my @rx = sort { $a->{end_ns} <=> $b->{end_ns} }
		of_type($objs, 'outlier', tracker => 'net', dir => 'rx', dev => $vb);
	is(scalar(grep { $_->{pid} == $reader && $_->{comm} eq 'lt-tcp-reader' } @rx), scalar @rx,
	   "$hook: rx outliers on $vb attributed to the reader (pid $reader, lt-tcp-reader)");
	is(scalar(grep { $_->{exit} eq 'copied to user' && $_->{protocol} == 6 && $_->{ifindex} == $ifb } @rx),
	   scalar @rx, "$hook: TCP (protocol 6), copied to user, ifindex $ifb");

	# Pair outliers and recv()s by time: the outlier of recv i ends after
	# recv i-1 returned and before recv i did.  Its window: send of the
	# message of the oldest byte -> recv return.  Each recv() has one
	# (threshold 1 ms), except when a loaded machine made the sender so late
	# that the reader was already waiting in recv(): a window under 2 ms
	# may have none.
	my ($paired, $missing, $inside, $close, @d, @w) = (0, 0, 0, 0);
	for my $i (0 .. $#recvs) {
		my $r = $recvs[$i];
		my $prev = $i ? $recvs[$i - 1]{t} : 0;
		my $sent = $sent{ $r->{k} } // next;
		my @e = grep { $_->{end_ns} > $prev && $_->{end_ns} <= $r->{t} } @rx;
		$paired += @e;
		$missing++ if !@e && $r->{t} - $sent >= 2e6;
		my $e = $e[0] or next;
		next unless $e->{begin_ns} >= $sent;
		$inside++;
		$close++ if $r->{t} - $sent - $e->{delay_ns} < 2e6;
		$r->{delay} = $e->{delay_ns};
		$r->{win} = $r->{t} - $sent;
		is($e->{bytes}, $r->{bytes}, "$hook: recv $i: $r->{bytes} bytes") if $i >= $N;
	}
	is($paired, scalar @rx, "$hook: every outlier pairs with one recv() (none for the MSG_PEEK)");
	is($missing, 0, "$hook: every recv() has its outlier (" . scalar(@rx) . " of $nrecv)");
	is($inside, scalar @rx, "$hook: every outlier inside its recv()'s window (send of the oldest byte -> recv return)");
	cmp_ok($close, '>=', scalar(@rx) - 2, "$hook: within 2 ms of that window ($close of " . scalar(@rx) . ")");
	# The workload's design: about SLEEP_MS each.  A loaded machine moves
	# single rounds (the reader's sleep overruns, the sender is late); the
	# windows move with them, and the median follows the windows'.
	my @rounds = sort { $a <=> $b } map { $_->{delay} // () } @recvs[0 .. $N - 1];
	my @wins = map { $_->{win} // () } @recvs[0 .. $N - 1];
	ok(@rounds >= $N - 2 && abs(median(@rounds) - median(@wins)) < 2e6
	   && median(@rounds) > ($SLEEP_MS - 3) * 1e6 && median(@rounds) < ($SLEEP_MS + 10) * 1e6,
	   sprintf("$hook: rounds: median %.2f ms, the windows' %.2f ms (%u ms sleeps)",
		   (median(@rounds) // 0) / 1e6, (median(@wins) // 0) / 1e6, $SLEEP_MS));
	my ($two, $peek, $half1, $half2) = @recvs[$N .. $N + 3];
	my $win = sub { $_[0]{t} - $sent{ $_[1] // $_[0]{k} } };
	# one recv() of two messages sent 10 ms apart: the older one's wait
	# (its window), not the newer one's (shorter by the time between the
	# two sends: 10 ms, unless a loaded machine kept the sender off the CPU
	# through the reader's sleep and it sent both at once)
	my $gap = ($sent{ $two->{k} + 1 } // 0) - ($sent{ $two->{k} } // 0);
	ok($two->{delay} && $win->($two) - $two->{delay} < 3e6
	   && ($gap < 4e6 || $two->{delay} - $win->($two, $two->{k} + 1) > $gap / 2),
	   sprintf("$hook: one recv() of two segments: the oldest byte's delay (%.2f ms; windows %.2f ms oldest,"
		   . " %.2f ms newest, sent %.2f ms apart)", ($two->{delay} // 0) / 1e6, $win->($two) / 1e6,
		   $win->($two, $two->{k} + 1) / 1e6, $gap / 1e6));
	# MSG_PEEK took nothing: the recv() 10 ms after it still counts from
	# the message's arrival, before the peek
	my $pk = $peeks[0]{t} // 0;
	ok($peek->{delay} && $win->($peek) - $peek->{delay} < 3e6 && $peek->{delay} > $pk - $sent{ $peek->{k} } + 5e6,
	   sprintf("$hook: after a MSG_PEEK (%.2f ms after the send) the recv() counts from the arrival (%.2f ms)",
		   ($pk - $sent{ $peek->{k} }) / 1e6, ($peek->{delay} // 0) / 1e6));
	# a message read in two recv()s 10 ms apart: both from its arrival
	ok($half1->{delay} && $half2->{delay} && $win->($half2) - $half2->{delay} < 3e6
	   && abs(($half2->{delay} - $half1->{delay}) - ($half2->{t} - $half1->{t})) < 1e6,
	   sprintf("$hook: a message read in two: %.2f ms then %.2f ms (both from its arrival)",
		   ($half1->{delay} // 0) / 1e6, ($half2->{delay} // 0) / 1e6));
	diag(sprintf("$hook: rounds %.2f .. %.2f ms, median %.2f; two segments %.2f; after peek %.2f; halves %.2f, %.2f ms",
		     $rounds[0] / 1e6, $rounds[-1] / 1e6, median(@rounds) / 1e6,
		     map { ($_->{delay} // 0) / 1e6 } $two, $peek, $half1, $half2)) if @rounds;

	my @sum = of_type($objs, 'summary', tracker => 'net', final => JSON::PP::true);
	my ($rxs) = grep { $_->{kind} eq 'rx' && ($_->{pid} // 0) == $reader } @sum;
	is($rxs && $rxs->{count}, $nrecv, "$hook: reader's rx class counts $nrecv (one sample per recv())");
	net_nothing_lost($objs, $hook);
}

# Bytes already waiting when latrack starts have no arrival time: a recv()
# whose oldest byte is one of them gives no sample, even when it also takes
# new bytes.  3 messages queued before, 2 after (on lo, in one process),
# read 30 ms later, 10 ms apart: old, old, old + new (200 bytes), new ->
# exactly one sample, the last read's (>= 30 + 3 x 10 ms).  Timing the
# old bytes from the first new arrival would give 2 or more.
{
	my ($old, $new) = (3, 2);
	my ($fh, $go) = ns_script($nsb, 'tcp_pair.pl', 'backlog', '127.0.0.1', $PORT + 10, $old, $new);
	my ($bl) = (readline($fh) // '') =~ /^queued (\d+)/;
	my $l = latrack_start('net', '--json', '-m', '0', '--comm', 'lt-tcp-backlog');
	$go->();
	my @lines = <$fh>;
	close $fh;
	is($? >> 8, 0, 'backlog: workload exits 0');
	my ($rc, $objs) = latrack_stop($l);
	my ($sent) = map { /^sent (\d+)/ ? $1 : () } @lines;
	my @reads = map { /^read (\d+) (\d+) (\d+)/ ? { k => $1, bytes => $2, t => $3 } : () } @lines;
	is(scalar @reads, $old + $new - 1, 'backlog: ' . ($old + $new - 1) . ' reads');
	my @rx = grep { ($_->{pid} // 0) == ($bl // -1) } of_type($objs, 'outlier', tracker => 'net', dir => 'rx');
	is(scalar @rx, 1, "backlog: one rx sample, for the read of new bytes only (none for the $old old ones, none for old + new)");
	my ($last) = $reads[-1];
	is(scalar(grep { $_->{end_ns} <= $last->{t} && $_->{end_ns} > $reads[-2]{t} && $_->{bytes} == 100
			 && $_->{delay_ns} >= (30 + 10 * $old) * 1e6 && $_->{begin_ns} <= $sent } @rx),
	   1, 'backlog: it is the last read (>= ' . (30 + 10 * $old) . ' ms, 100 bytes, arrival before "sent")');
	diag('backlog: ' . join(', ', map { sprintf('%.2f ms %u bytes', $_->{delay_ns} / 1e6, $_->{bytes}) } @rx));
}

# A reader behind by more than the FIFO's 32 ranges: 40 messages, one
# segment each, then read one per recv().  The first 32 get their sample;
# the 8 past the ring are counted as lost (inflight_full) and their recv()s
# give none (no time, rather than a wrong one).  The segments are counted
# by the receiving socket too (TCP_INFO), less the sender's retransmissions
# (tail loss probes while the reader's ACKs are delayed: duplicates).
{
	my $M = 40;
	my $l = latrack_start('net', '--json', '-m', '0', '--comm', 'lt-tcp-burst');
	my ($fh, $go) = ns_script($nsb, 'tcp_pair.pl', 'burst', '127.0.0.1', $PORT + 11, $M);
	my ($bp) = (readline($fh) // '') =~ /^ready (\d+)/;
	$go->();
	my @lines = <$fh>;
	close $fh;
	is($? >> 8, 0, 'burst: workload exits 0');
	my ($rc, $objs) = latrack_stop($l);
	my ($sent) = map { /^sent (\d+)/ ? $1 : () } @lines;
	my %read = map { /^read (\d+) (\d+)/ ? ($1 => $2) : () } @lines;
	is(scalar(keys %read), $M, "burst: $M reads");
	my @rx = sort { $a->{end_ns} <=> $b->{end_ns} }
		grep { ($_->{pid} // 0) == ($bp // -1) } of_type($objs, 'outlier', tracker => 'net', dir => 'rx');
	is(scalar @rx, 32, 'burst: 32 rx samples, the ranges the FIFO held');
	ok(@rx && $rx[-1]{end_ns} <= $read{32} && $rx[-1]{end_ns} > $read{31} && $rx[-1]{begin_ns} <= $sent,
	   'burst: the last sample is the 32nd read');
	my ($loss) = of_type($objs, 'loss');
	my ($segs) = map { /^segs (\d+)/ ? $1 : () } @lines;
	my ($retrans) = map { /^retrans (\d+)/ ? $1 : () } @lines;
	is(($segs // 0) - ($retrans // 0), $M, "burst: the socket received $M data segments"
	   . " (TCP_INFO: $segs, $retrans of them sent again: duplicates, which push nothing)");
	# at least: other sockets of the machine may add theirs
	cmp_ok($loss->{net}{inflight_full} // 0, '>=', $M - 32, 'burst: ' . ($M - 32) . ' ranges past the ring counted in inflight_full');
}

# Out of order: a hand-written sender (tcp_ooo.pl) sends P, then R and S
# with Q missing, then Q 30 ms later, then Q again.  R and S are not
# readable until Q comes: the recv() of Q R S counts from Q's arrival
# (about 30 ms before it), not from R's (60); the duplicate Q moves nothing.
{
	my $l = latrack_start('net', '--json', '-m', '1ms'); # no filter: the rx stack class has no task
	my @lines = run_pair(['tcp_pair.pl', 'oooread', $ab, $PORT + 12], ['tcp_ooo.pl', $ac, $ab, $PORT + 12]);
	my ($rc, $objs) = latrack_stop($l);
	my ($reader) = map { /^ready (\d+)/ ? $1 : () } $lines[0];
	my %t = map { /^(send P|ooo|fill|dup) (\d+)/ ? ($1 => $2) : () } @lines;
	my %r = map { /^recv (\d) (\d+) (\d+)/ ? ($1 => $3) : () } @lines;
	is(scalar(keys %r), 2, 'ooo: reader read P, then Q R S');
	my @rx = sort { $a->{end_ns} <=> $b->{end_ns} }
		grep { ($_->{pid} // 0) == ($reader // -1) } of_type($objs, 'outlier', tracker => 'net', dir => 'rx');
	is(scalar @rx, 2, 'ooo: two samples, one per recv()');
	my ($p, $qrs) = @rx;
	# (5 ms: the sender taking its time stamp and then waiting for a CPU
	# before its send; the two windows differ by 30)
	ok($p && $r{1} - $t{'send P'} - $p->{delay_ns} < 5e6 && $p->{delay_ns} <= $r{1} - $t{'send P'},
	   sprintf('ooo: P read %.2f ms after its arrival (window %.2f ms)', ($p ? $p->{delay_ns} : 0) / 1e6,
		   ($r{1} - $t{'send P'}) / 1e6));
	ok($qrs && $qrs->{bytes} == 300 && $qrs->{begin_ns} >= $t{fill} && $qrs->{begin_ns} < $t{dup}
	   && $r{2} - $t{fill} - $qrs->{delay_ns} < 5e6,
	   sprintf('ooo: Q R S counted from the arrival of Q, which filled the gap (%.2f ms; from Q\'s send %.2f ms, from R\'s %.2f ms)',
		   ($qrs ? $qrs->{delay_ns} : 0) / 1e6, ($r{2} - $t{fill}) / 1e6, ($r{2} - $t{ooo}) / 1e6));
	my @sum = of_type($objs, 'summary', tracker => 'net', final => JSON::PP::true);
	my ($rxs) = grep { $_->{kind} eq 'rx' && ($_->{pid} // 0) == ($reader // -1) } @sum;
	is($rxs && $rxs->{count}, 2, "ooo: reader's rx class counts 2");
	my ($st) = grep { $_->{kind} eq 'rx_stack' && $_->{dev} eq $vb } @sum;
	is($st && $st->{count}, 2, "ooo: 2 pushes on $vb (P; Q with R and S), none for R, S or the duplicate");
}

# A bulk transfer on lo read 16 KiB at a time: segments keep arriving
# while the reader copies (holding the socket), so many wait in the
# socket's backlog and are queued later by the reader's release_sock().
# Their arrival is found by data buffer: most recv()s have their sample
# (without it, 186 of 3,202 in one run; with it, 3,177 of 3,201), each
# shorter than the transfer.
{
	my $MB = 50;
	my $l = latrack_start('net', '--json', '-m', '1s');
	my ($fh, $go) = ns_script($nsb, 'tcp_pair.pl', 'bulk', '127.0.0.1', $PORT + 13, $MB);
	my ($bp) = (readline($fh) // '') =~ /^ready (\d+)/;
	$go->();
	my @lines = <$fh>;
	close $fh;
	is($? >> 8, 0, "bulk: $MB MiB transferred");
	my ($rc, $objs) = latrack_stop($l);
	my ($t0) = map { /^start (\d+)/ ? $1 : () } @lines;
	my ($t1) = map { /^end (\d+)/ ? $1 : () } @lines;
	my ($reads) = map { /^reads (\d+)/ ? $1 : () } @lines;
	my ($rxs) = grep { $_->{kind} eq 'rx' && ($_->{pid} // 0) == ($bp // -1) }
		of_type($objs, 'summary', tracker => 'net', final => JSON::PP::true);
	my $n = $rxs ? $rxs->{count} : 0;
	cmp_ok($n, '>=', ($reads // 1e9) / 2, "bulk: most recv()s sampled ($n of " . ($reads // '?') . ')');
	ok($rxs && $rxs->{max_ns} < ($t1 // 0) - ($t0 // 0),
	   sprintf('bulk: each shorter than the transfer (max %.2f ms, p50 %.3f ms; transfer %.1f ms)',
		   ($rxs ? $rxs->{max_ns} : 0) / 1e6, ($rxs ? $rxs->{p50_ns} : 0) / 1e6, (($t1 // 0) - ($t0 // 0)) / 1e6));
}

done_testing();
