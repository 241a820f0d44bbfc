# A veth pair between two network namespaces that a test makes and
# removes (tests/bpf_net.t, tests/bpf_net_tcp.t), with no IPv6 and static
# neighbours, so that the only packets on it are the workload's.
package NetPair;
use strict;
use warnings;
use Exporter 'import';
use FindBin;
use POSIX ();
use Test::More;
use LtTest ();

our @EXPORT = qw(need_or_skip sh veth_pair ns_script ns_run_pair net_nothing_lost);

our ($IP) = grep { -x } qw(/usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip);

# Skip loudly, or fail under LATRACK_REQUIRE_BPF=1.
sub need_or_skip {
	my ($why) = @_;
	if (($ENV{LATRACK_REQUIRE_BPF} // '') eq '1') {
		fail($why);
		done_testing();
		exit 1;
	}
	plan skip_all => $why;
}

sub sh { my $out = `@_ 2>&1`; return ($? == 0, $out) }

# tests/bpf/SCRIPT ARGS in namespace NS, its stdin a pipe: returns the
# script's stdout and a sub that writes "go" to its stdin and closes it.
sub ns_script {
	my ($ns, $script, @args) = @_;
	pipe(my $ir, my $iw) or die "pipe: $!";
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if (!$pid) {
		close $iw;
		open STDIN, '<&', $ir or POSIX::_exit(127);
		{ no warnings 'exec'; exec($IP, 'netns', 'exec', $ns, $^X, "$FindBin::Bin/bpf/$script", @args); }
		POSIX::_exit(127);
	}
	close $ir;
	return ($fh, sub { print $iw "go\n"; close $iw });
}

# A reader in namespace NSB and a sender in NSA, each [script, args...]
# under tests/bpf, joined by a pipe on fd 3 of both (the scripts' own
# handshake).  Each prints its first line when ready (the reader's is
# "ready PID"); both then get "start" on stdin together.  Checks that both
# exit 0; returns their output, the reader's first line first.
sub ns_run_pair {
	my ($nsa, $nsb, $rcmd, $scmd) = @_;
	local $^F = 10; # keep the pipe open across exec
	pipe(my $r, my $w) or die "pipe: $!";
	my (@out, @kids);
	for my $side ([$rcmd, $nsb, $w, $r], [$scmd, $nsa, $r, $w]) {
		my ($cmd, $ns, $mine, $other) = @$side;
		my ($script, @args) = @$cmd;
		pipe(my $or, my $ow) or die "pipe: $!";
		pipe(my $ir, my $iw) or die "pipe: $!";
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			close $other;
			close $or;
			POSIX::dup2(fileno($mine), 3) if fileno($mine) != 3;
			open STDOUT, '>&', $ow or POSIX::_exit(127);
			close $iw;
			open STDIN, '<&', $ir or POSIX::_exit(127);
			{ no warnings "exec"; exec($IP, 'netns', 'exec', $ns, $^X, "$FindBin::Bin/bpf/$script", @args); }
			POSIX::_exit(127);
		}
		close $ow;
		close $ir;
		push @kids, [$pid, $or, $iw];
		# the reader listens before the sender starts; both are ready
		# before the first round (perl's start-up is not a round)
		push @out, readline($or) // '';
	}
	for my $k (@kids) {
		my $iw = $k->[2];
		print $iw "start\n";
		close $iw;
	}
	close $r;
	close $w;
	for my $k (@kids) {
		my $fh = $k->[1];
		push @out, <$fh>;
		waitpid $k->[0], 0;
		is($? >> 8, 0, 'workload ' . ($k == $kids[0] ? 'reader' : 'sender') . ' exits 0');
	}
	return @out;
}

# No outlier and no sample of the net tracker lost.  inflight_full is left
# out: it counts the readers of every socket on the machine that fall 32
# datagrams or ranges behind, and other programs (other test runs) share it.
sub net_nothing_lost {
	my ($objs, $hook) = @_;
	my ($loss) = LtTest::of_type($objs, 'loss');
	is(($loss->{net}{ringbuf} // 0) + ($loss->{net}{hist_full} // 0), 0, "$hook: nothing lost (ring buffer, histograms)")
		or diag(explain($loss));
}

my @made; # [namespace A, namespace B, veth A]
# Deleting a namespace deletes the veth end in it; the link del is for a
# pair that never left the root namespace (setup failed half-way).
END {
	local $?;
	for my $m (@made) {
		system("$IP netns del $_ 2>/dev/null") for ($m->[0], $m->[1]);
		system("$IP link del $m->[2] 2>/dev/null");
	}
}

# veth_pair(NS_A, NS_B, VETH_A, VETH_B, ADDR_A, ADDR_B, MORE_B...): the
# pair up, ADDR_A/24 on VETH_A in NS_A, ADDR_B/24 on VETH_B in NS_B, lo up
# in NS_B; NS_B reaches ADDR_A and each MORE_B address (owned by no one)
# through VETH_A's MAC.  Returns undef, or what failed.
sub veth_pair {
	my ($nsa, $nsb, $va, $vb, $aa, $ab, @more_b) = @_;
	my $ip = $IP // return 'iproute2 (ip) not installed';
	push @made, [$nsa, $nsb, $va];
	my @cmds = (
		"$ip netns add $nsa", "$ip netns add $nsb",
		"$ip link add $va type veth peer name $vb",
		"$ip link set $va netns $nsa", "$ip link set $vb netns $nsb",
		"$ip netns exec $nsa sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
		"$ip netns exec $nsb sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
		"$ip -n $nsa addr add $aa/24 dev $va", "$ip -n $nsb addr add $ab/24 dev $vb",
		"$ip -n $nsa link set $va up", "$ip -n $nsb link set $vb up",
		"$ip -n $nsb link set lo up",
	);
	for my $c (@cmds) {
		my ($ok, $out) = sh($c);
		return "$c: $out" unless $ok;
	}
	my %mac;
	for ([$nsa, $va], [$nsb, $vb]) {
		my ($ok, $out) = sh("$ip -n $_->[0] -br link show $_->[1]");
		($mac{ $_->[1] }) = $out =~ /\s([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s/;
		return "no MAC address for $_->[1]: $out" unless $mac{ $_->[1] };
	}
	for my $c ("$ip -n $nsa neigh replace $ab lladdr $mac{$vb} dev $va nud permanent",
		   map { "$ip -n $nsb neigh replace $_ lladdr $mac{$va} dev $vb nud permanent" } @more_b, $aa) {
		my ($ok, $out) = sh($c);
		return "$c: $out" unless $ok;
	}
	return undef;
}

1;
