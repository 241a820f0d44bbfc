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
use strict;
use warnings;
use IO::Handle;
use IO::Socket::INET;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC sleep);

sub now_ns { return int(clock_gettime(CLOCK_MONOTONIC) * 1e9) }

my ($mode, $addr, $port, $n, $arg) = @ARGV;
open(my $ctl, $mode eq 'recv' ? '>&=' : '<&=', 3) or die "fd 3: $!";
$ctl->autoflush(1);
STDOUT->autoflush(1);
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
