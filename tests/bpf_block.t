#!/usr/bin/perl
# block tracker on a loop device made by the test: O_DIRECT reads and
# writes of known sizes give one sample per request, on that device, with
# the right sectors, sizes and submitting process.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;
use File::Temp qw(tempfile);

require_bpf();
plan skip_all => 'losetup not installed' unless -x '/usr/sbin/losetup' || -x '/sbin/losetup';

my (undef, $img) = tempfile('latrack-loop-XXXXXX', TMPDIR => 1, UNLINK => 1);
truncate($img, 16 << 20) or die "truncate: $!";
chomp(my $loop = `losetup -f --show $img 2>&1`);
if ($? != 0 || $loop !~ m{^/dev/loop\d+$}) {
	if (($ENV{LATRACK_REQUIRE_BPF} // '') eq '1') {
		fail("cannot set up a loop device: $loop");
		done_testing();
		exit 1;
	}
	plan skip_all => "cannot set up a loop device: $loop";
}
my ($name) = $loop =~ m{/dev/(loop\d+)};
chomp(my $dev = `cat /sys/block/$name/dev`);
END { system('losetup', '-d', $loop) if $loop && $loop =~ m{^/dev/loop\d+$}; }

my ($NR, $NW) = (64, 4);
for my $hook ('tp_btf', 'raw_tp') {
	my @extra = $hook eq 'raw_tp' ? ('--raw-tp') : ();
	my $l = latrack_start('block', '--json', '--comm', 'dd', '-m', '0', @extra);
	system("dd if=$loop of=/dev/null bs=4k count=$NR iflag=direct 2>/dev/null") == 0 or diag('dd read failed');
	system("dd if=/dev/zero of=$loop bs=64k count=$NW oflag=direct 2>/dev/null") == 0 or diag('dd write failed');
	my ($rc, $objs) = latrack_stop($l);
	is($rc, 0, "$hook: exits 0");

	my @sum = of_type($objs, 'summary', tracker => 'block', final => JSON::PP::true);
	my ($r) = grep { $_->{class} eq 'R service' && $_->{dev} eq $dev } @sum;
	my ($w) = grep { $_->{class} eq 'W service' && $_->{dev} eq $dev } @sum;
	is($r && $r->{count}, $NR, "$hook: $NR read requests on $name ($dev)");
	is($w && $w->{count}, $NW, "$hook: $NW write requests on $name");
	is($r && $r->{disk}, $name, "$hook: class named after the disk");

	my @out = of_type($objs, 'outlier', tracker => 'block', dev => $dev);
	my @rd = grep { $_->{class} eq 'R' } @out;
	my @wr = grep { $_->{class} eq 'W' } @out;
	is(scalar @rd, $NR, "$hook: threshold 0: an outlier per read");
	is(join(',', map { $_->{sector} } @rd), join(',', map { $_ * 8 } 0 .. $NR - 1),
	   "$hook: reads at sectors 0, 8, 16... in order");
	is(scalar(grep { $_->{bytes} == 4096 && $_->{comm} eq 'dd' } @rd), $NR, "$hook: 4 KiB each, submitted by dd");
	is(scalar(grep { $_->{bytes} == 65536 } @wr), $NW, "$hook: writes of 64 KiB");
	is(scalar(grep { $_->{delay_ns} == $_->{queue_ns} + $_->{service_ns} } @out), scalar @out,
	   "$hook: delay = queued + service");
	# (dd may also read its own pages from the root disk: also dd's requests)
	my @all = of_type($objs, 'outlier', tracker => 'block');
	is(scalar(grep { $_->{comm} eq 'dd' } @all), scalar @all, "$hook: --comm dd: only requests submitted by dd");
	my ($loss) = of_type($objs, 'loss');
	is(scalar(grep { $_ } values %{ $loss->{block} // {} }), 0, "$hook: nothing lost");
}

done_testing();
