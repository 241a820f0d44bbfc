#!/usr/bin/perl
# Out-of-order TCP for tests/bpf_net_tcp.t: a TCP sender written by hand
# (raw IP socket, an address no namespace owns, so no kernel answers for
# it), which sends its segments in the order the test wants.  Run in the
# sender's namespace (ip netns exec); the reader is tcp_pair.pl oooread.
#
#   tcp_ooo.pl SRC DST PORT   prints "ready PID", waits for a line on
#       stdin, connects (SYN, reads the SYN-ACK on a packet socket, ACK),
#       then on "go" from fd 3 sends the stream P Q R S (100 bytes each)
#       as: P; 10 ms later R and S (out of order: Q missing); 30 ms later Q
#       (fills the gap); 5 ms later Q again (a duplicate).  Prints "send
#       P T_NS", "ooo T_NS", "fill T_NS", "dup T_NS" (CLOCK_MONOTONIC,
#       just before each send); exits on "end" from fd 3.
use strict;
use warnings;
use IO::Handle;
use IO::Select;
use Socket qw(PF_INET SOCK_RAW inet_aton sockaddr_in);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC sleep time);

sub now_ns { return int(clock_gettime(CLOCK_MONOTONIC) * 1e9) }

my ($src, $dst, $dport) = @ARGV;
STDOUT->autoflush(1);
open(my $ctl, '<&=', 3) or die "fd 3: $!";
$0 = 'lt-tcp-ooo';

my ($sa, $da) = (inet_aton($src), inet_aton($dst));
socket(my $tx, PF_INET, SOCK_RAW, 255) or die "raw socket: $!"; # IPPROTO_RAW: we write the IP header
socket(my $rx, 17, 2, unpack("S", pack("n", 0x0800))) or die "packet socket: $!"; # AF_PACKET, SOCK_DGRAM (from the IP header), ETH_P_IP
my $sport = 40000 + $$ % 20000;
my $iss = 1_000_000;

sub csum {
	my ($data) = @_;
	$data .= "\0" if length($data) % 2;
	my $sum = 0;
	$sum += $_ for unpack('n*', $data);
	$sum = ($sum >> 16) + ($sum & 0xffff) while $sum >> 16;
	return ~$sum & 0xffff;
}

sub segment {
	my ($seq, $ack, $flags, $data) = @_;
	$data //= '';
	my $tcp = pack('nnNNnnnn', $sport, $dport, $seq, $ack, (5 << 12) | $flags, 65535, 0, 0) . $data;
	my $pseudo = $sa . $da . pack('CCn', 0, 6, length $tcp);
	substr($tcp, 16, 2) = pack('n', csum($pseudo . $tcp));
	my $ip = pack('CCnnnCCn', 0x45, 0, 20 + length $tcp, 0, 0x4000, 64, 6, 0) . $sa . $da;
	send($tx, $ip . $tcp, 0, sockaddr_in(0, $da)) or die "send: $!";
}

print "ready $$\n";
<STDIN>;

# handshake
my ($SYN, $ACK, $PSH) = (0x02, 0x10, 0x08);
segment($iss, 0, $SYN);
my $sel = IO::Select->new($rx);
my ($irs, $t0) = (undef, time);
while (!defined $irs && time - $t0 < 5) {
	$sel->can_read(0.2) or next;
	sysread($rx, my $f, 2048) or next;
	my ($ihl, $proto, $s, $d) = (ord(substr($f, 0, 1)) & 0xf, ord(substr($f, 9, 1)), substr($f, 12, 4), substr($f, 16, 4));
	next unless $proto == 6 && $s eq $da && $d eq $sa;
	my ($sp, $dp, $seq, $ack, $off) = unpack('nnNNn', substr($f, $ihl * 4, 14));
	next unless $sp == $dport && $dp == $sport && ($off & 0x12) == 0x12 && $ack == $iss + 1;
	$irs = $seq;
}
die "no SYN-ACK from $dst:$dport\n" unless defined $irs;
my $ackn = ($irs + 1) % 2**32;
segment($iss + 1, $ackn, $ACK);

my $base = $iss + 1;
my %msg = (P => 0, Q => 100, R => 200, S => 300);
my $send = sub { segment($base + $msg{$_[0]}, $ackn, $ACK | $PSH, $_[0] x 100) };
while (my $line = <$ctl>) {
	last if $line =~ /^end/;
	next unless $line =~ /^go/;
	print 'send P ', now_ns(), "\n";
	$send->('P');
	sleep(0.01);
	print 'ooo ', now_ns(), "\n";
	$send->('R');
	$send->('S');
	sleep(0.03);
	print 'fill ', now_ns(), "\n";
	$send->('Q');
	sleep(0.005);
	print 'dup ', now_ns(), "\n";
	$send->('Q');
}
exit 0;
