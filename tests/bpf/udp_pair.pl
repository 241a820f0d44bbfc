#!/usr/bin/perl
# UDP workload of tests/bpf_net.t, run inside the test's network
# namespaces (ip netns exec).  Prints CLOCK_MONOTONIC ns, the clock of
# bpf_ktime_get_ns, so the test can check latrack's times against its own.
#
#   udp_pair.pl recv ADDR PORT N SLEEP_MS   receiver: binds, prints "ready
#       PID", waits for a line on stdin, then N times: say "go" on
#       fd 3, sleep SLEEP_MS, recv() one datagram; prints "recv I T_NS"
#   udp_pair.pl send ADDR PORT N CLOSED_PORT   sender: on each "go" read
#       from fd 3, send datagram I; prints "send I T_NS"; at the end one
#       datagram to CLOSED_PORT (no socket there: a drop)
#   udp_pair.pl backlog ADDR PORT OLD NEW   one process, on ADDR (lo):
#       sends OLD datagrams to itself, prints "queued PID", waits for a
#       line on stdin, sends NEW more, prints "sent T_NS" after the last,
#       sleeps 30 ms, reads them all 10 ms apart and prints "read T_NS"
use strict;
use warnings;
use IO::Handle;
use IO::Socket::INET;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC sleep);

sub now_ns { return int(clock_gettime(CLOCK_MONOTONIC) * 1e9) }

my ($mode, $addr, $port, $n, $arg) = @ARGV;
STDOUT->autoflush(1);
my $ctl;
if ($mode ne 'backlog') {
	open($ctl, $mode eq 'recv' ? '>&=' : '<&=', 3) or die "fd 3: $!";
	$ctl->autoflush(1);
}
if ($mode eq 'backlog') {
	$0 = 'lt-udp-backlog';
	my $old = $n;
	my $r = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $addr, LocalPort => $port)
		or die "bind $addr:$port: $@";
	my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $addr, PeerPort => $port)
		or die "socket: $@";
	$s->send("old$_") for 1 .. $old;
	print "queued $$\n";
	<STDIN>;
	$s->send("new$_") for 1 .. $arg;
	print 'sent ', now_ns(), "\n";
	sleep(0.03);
	for (1 .. $old + $arg) { # 10 ms apart: a wrong pairing shows in the delays
		defined $r->recv(my $buf, 2048) or die "recv: $!";
		sleep(0.01);
	}
	print 'read ', now_ns(), "\n";
	exit 0;
}
if ($mode eq 'recv') {
	$0 = 'lt-udp-reader'; # the comm latrack must report
	my $s = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $addr, LocalPort => $port)
		or die "bind $addr:$port: $@";
	print "ready $$\n";
	<STDIN>; # the test starts the rounds once the sender is ready too
	for my $i (1 .. $n) {
		print $ctl "go $i\n";
		sleep($arg / 1000);
		my $buf;
		defined $s->recv($buf, 2048) or die "recv: $!";
		my $t = now_ns();
		print "recv $buf $t\n";
	}
	print $ctl "end\n";
} else {
	$0 = 'lt-udp-sender';
	my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $addr, PeerPort => $port)
		or die "socket to $addr:$port: $@";
	print "ready $$\n";
	while (my $line = <$ctl>) {
		last if $line =~ /^end/;
		my ($i) = $line =~ /^go (\d+)/ or next;
		my $t = now_ns();
		$s->send($i) or die "send: $!";
		print "send $i $t\n";
	}
	my $c = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $addr, PeerPort => $arg)
		or die "socket to $addr:$arg: $@";
	$c->send('x');
	print "sent closed\n";
}
