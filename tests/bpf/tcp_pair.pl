#!/usr/bin/perl
# TCP workload of tests/bpf_net_tcp.t, run inside the test's network
# namespaces (ip netns exec).  Prints CLOCK_MONOTONIC ns, the clock of
# bpf_ktime_get_ns, so the test can check latrack's times against its own.
# The reader leads: it tells the sender (fd 3, a pipe) what to send and
# when, and reads with known delays.  Message K is SIZE bytes of one letter.
#
#   tcp_pair.pl recv ADDR PORT N SLEEP_MS   reader: listens, prints "ready
#       PID", waits for a line on stdin, accepts, then
#       - N rounds: send K (100 bytes); sleep SLEEP_MS; recv() it
#       - two segments, one recv(): send A; sleep 10 ms; send B; sleep
#         SLEEP_MS; one recv() of both (oldest byte: A's)
#       - MSG_PEEK: send C; sleep 10 ms; recv(MSG_PEEK); sleep 10 ms; recv()
#       - part of a segment: send D (200 bytes); sleep 10 ms; recv() 100;
#         sleep 10 ms; recv() 100
#       prints "recv K BYTES T_NS" after each recv() (K: the message of
#       its oldest byte), "peek K BYTES T_NS", and "eof" when the sender
#       closed
#   tcp_pair.pl backlog ADDR PORT OLD NEW   one process, on ADDR (lo):
#       connects to itself, sends OLD messages of 100 bytes, prints
#       "queued PID", waits for a line on stdin, sends NEW more, prints
#       "sent T_NS" after the last, sleeps 30 ms, then reads 10 ms apart:
#       the old ones one per recv() except the last, which it reads with
#       the first new one in one recv() of 200 bytes, then the other new
#       ones one per recv(); prints "read K BYTES T_NS" after each
#   tcp_pair.pl burst ADDR PORT M   one process, on ADDR (lo): connects to
#       itself, prints "ready PID", waits for a line on stdin, sends M
#       messages of 100 bytes, each once the previous one left (at least
#       1 ms apart), prints "sent T_NS", sleeps 10 ms,
#       reads them one per recv(), prints "read K T_NS" after each, then
#       "segs N": the data segments the reading socket received, from
#       TCP_INFO (tcpi_data_segs_in, duplicates included), and "retrans N":
#       the segments the sending socket sent again (tcpi_total_retrans)
#   tcp_pair.pl oooread ADDR PORT   reader of tcp_ooo.pl's stream P Q R S
#       (100 bytes each): listens, prints "ready PID", waits for a line on
#       stdin, accepts, says "go" on fd 3, sleeps 70 ms, reads P (prints
#       "recv 1 100 T_NS"), then Q R S in one recv() ("recv 2 300 T_NS"),
#       says "end" on fd 3
#   tcp_pair.pl bulk ADDR PORT MB   one process and its child, on ADDR
#       (lo): the child writes MB MiB in 64 KiB writes, the parent reads
#       16 KiB at a time (data keeps arriving while it copies: segments
#       wait in the socket's backlog); prints "ready PID", waits for a
#       line on stdin, then "start T_NS", "end T_NS" and "reads N"
#   tcp_pair.pl send ADDR PORT   sender: prints "ready PID", waits for a
#       line on stdin, connects (TCP_NODELAY), then on each "send K SIZE"
#       read from fd 3 sends message K and prints "send K T_NS"; closes on
#       "end"
use strict;
use warnings;
use IO::Handle;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY TCP_INFO MSG_PEEK MSG_WAITALL);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC sleep);

sub now_ns { return int(clock_gettime(CLOCK_MONOTONIC) * 1e9) }

my ($mode, $addr, $port, $n, $sleep_ms) = @ARGV;
STDOUT->autoflush(1);
if ($mode eq 'bulk') {
	$0 = 'lt-tcp-bulk';
	my $l = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => $addr, LocalPort => $port,
				      Listen => 1, ReuseAddr => 1) or die "listen $addr:$port: $@";
	print "ready $$\n";
	<STDIN>;
	print 'start ', now_ns(), "\n";
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		my $c = IO::Socket::INET->new(Proto => 'tcp', PeerAddr => $addr, PeerPort => $port)
			or die "connect: $@";
		my $buf = 'x' x 65536;
		for (1 .. $n * 16) {
			defined syswrite($c, $buf) or die "write: $!";
		}
		exit 0;
	}
	my $r = $l->accept or die "accept: $!";
	my ($got, $reads) = (0, 0);
	while (my $k = sysread($r, my $b, 16384)) {
		$got += $k;
		$reads++;
	}
	waitpid $pid, 0;
	die "read $got bytes\n" if $got != $n * 1048576;
	print 'end ', now_ns(), "\n", "reads $reads\n";
	exit 0;
}
if ($mode eq 'backlog' || $mode eq 'burst') {
	$0 = "lt-tcp-$mode";
	my ($old, $new) = $mode eq 'burst' ? (0, $n) : ($n, $sleep_ms);
	my $l = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => $addr, LocalPort => $port,
				      Listen => 1, ReuseAddr => 1) or die "listen $addr:$port: $@";
	my $c = IO::Socket::INET->new(Proto => 'tcp', PeerAddr => $addr, PeerPort => $port)
		or die "connect: $@";
	$c->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1) or die "TCP_NODELAY: $!";
	my $r = $l->accept or die "accept: $!";
	my $send = sub {
		$c->send(chr(65 + $_[0] % 26) x 100) == 100 or die "send: $!";
		sleep(0.001);
		# burst: one segment per message (nothing left unsent for the
		# next one to merge with: cwnd is 10 and the receiver's ACKs
		# may be delayed); SIOCOUTQNSD: bytes not sent yet
		for (1 .. 1000) {
			last if $mode ne 'burst';
			ioctl($c, 0x894B, my $nsd = pack('i', 0)) or die "SIOCOUTQNSD: $!";
			last unless unpack('i', $nsd);
			sleep(0.001);
		}
	};
	$send->($_) for 1 .. $old;
	print $mode eq 'burst' ? "ready $$\n" : "queued $$\n";
	<STDIN>;
	$send->($_) for $old + 1 .. $old + $new;
	print 'sent ', now_ns(), "\n";
	sleep($mode eq 'burst' ? 0.01 : 0.03);
	for my $k (1 .. $old + $new) {
		if ($mode eq 'burst') {
			my $buf;
			defined $r->recv($buf, 100, MSG_WAITALL) or die "recv: $!";
			die "message $k: got " . length($buf) . " bytes\n" if length($buf) != 100;
			print "read $k ", now_ns(), "\n";
			next if $k < $new;
			# struct tcp_info: tcpi_data_segs_in is the u32 at byte 152
			my $info = getsockopt($r, IPPROTO_TCP, TCP_INFO) or die "TCP_INFO: $!";
			die 'TCP_INFO too short' if length($info) < 156;
			print 'segs ', unpack('L', substr($info, 152, 4)), "\n";
			# the sender's retransmissions (tcpi_total_retrans, byte
			# 100): tail loss probes while the reader's ACKs wait
			my $sinfo = getsockopt($c, IPPROTO_TCP, TCP_INFO) or die "TCP_INFO: $!";
			print 'retrans ', unpack('L', substr($sinfo, 100, 4)), "\n";
			next;
		}
		next if $k == $old + 1; # read with the last old one
		my $len = $k == $old ? 200 : 100;
		my $buf;
		defined $r->recv($buf, $len, MSG_WAITALL) or die "recv: $!";
		die "message $k: got " . length($buf) . " bytes\n" if length($buf) != $len;
		print "read $k $len ", now_ns(), "\n";
		sleep(0.01);
	}
	exit 0;
}
my $writes = $mode eq 'recv' || $mode eq 'oooread'; # the reader leads
open(my $ctl, $writes ? '>&=' : '<&=', 3) or die "fd 3: $!";
$ctl->autoflush(1);

if ($mode eq 'oooread') {
	$0 = 'lt-tcp-oooread';
	my $l = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => $addr, LocalPort => $port,
				      Listen => 1, ReuseAddr => 1) or die "listen $addr:$port: $@";
	print "ready $$\n";
	<STDIN>;
	my $s = $l->accept or die "accept: $!";
	print $ctl "go\n";
	sleep(0.07);
	my $i = 0;
	for my $want ('P' x 100, 'Q' x 100 . 'R' x 100 . 'S' x 100) {
		my $buf;
		defined $s->recv($buf, length $want, MSG_WAITALL) or die "recv: $!";
		my $t = now_ns();
		die 'unexpected data: ' . substr($buf, 0, 20) . '...' if $buf ne $want;
		$i++;
		print "recv $i ", length($buf), " $t\n";
	}
	print $ctl "end\n";
	exit 0;
}
if ($mode eq 'recv') {
	$0 = 'lt-tcp-reader'; # the comm latrack must report
	my $l = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => $addr, LocalPort => $port,
				      Listen => 1, ReuseAddr => 1) or die "listen $addr:$port: $@";
	print "ready $$\n";
	<STDIN>;
	my $s = $l->accept or die "accept: $!";
	my $slp = $sleep_ms / 1000;
	my $take = sub { # recv() exactly $len bytes of message $k, print it
		my ($k, $len, $flags, $what) = @_;
		my $buf;
		defined $s->recv($buf, $len, $flags // 0) or die "recv: $!";
		my $t = now_ns();
		die "message $k: got " . length($buf) . " bytes, wanted $len\n" if length($buf) != $len;
		die "message $k: oldest byte is not its own\n" if substr($buf, 0, 1) ne chr(65 + $k % 26);
		print "", ($what // 'recv'), " $k $len $t\n";
	};
	for my $k (1 .. $n) {
		print $ctl "send $k 100\n";
		sleep($slp);
		$take->($k, 100, MSG_WAITALL);
	}
	my ($a, $b, $c, $d) = ($n + 1, $n + 2, $n + 3, $n + 4);
	print $ctl "send $a 100\n";
	sleep(0.01);
	print $ctl "send $b 100\n";
	sleep($slp);
	$take->($a, 200, MSG_WAITALL);
	print $ctl "send $c 100\n";
	sleep(0.01);
	$take->($c, 100, MSG_PEEK, 'peek');
	sleep(0.01);
	$take->($c, 100, MSG_WAITALL);
	print $ctl "send $d 200\n";
	sleep(0.01);
	$take->($d, 100);
	sleep(0.01);
	$take->($d, 100);
	print $ctl "end\n";
	my $buf;
	defined $s->recv($buf, 100) or die "recv: $!";
	die 'data after the last message' if length $buf;
	print "eof\n";
} else {
	$0 = 'lt-tcp-sender';
	print "ready $$\n";
	<STDIN>;
	my $s;
	for (1 .. 50) { # the reader listens already; retry in case
		$s = IO::Socket::INET->new(Proto => 'tcp', PeerAddr => $addr, PeerPort => $port) and last;
		sleep(0.01);
	}
	$s or die "connect $addr:$port: $@";
	$s->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1) or die "TCP_NODELAY: $!";
	while (my $line = <$ctl>) {
		last if $line =~ /^end/;
		my ($k, $size) = $line =~ /^send (\d+) (\d+)/ or next;
		my $msg = chr(65 + $k % 26) x $size;
		my $t = now_ns();
		$s->send($msg) == $size or die "send: $!";
		print "send $k $t\n";
	}
	close $s;
}
exit 0;
