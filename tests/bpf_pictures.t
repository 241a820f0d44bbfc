#!/usr/bin/perl
# latrack run --folded/--flame/--svg on the live kernel: a workload thread
# sleeps N x MS ms in nanosleep(); the folded stacks hold its own function
# names (user frames, built with frame pointers) then the kernel frames
# where it blocked, with the outliers' delays summed in microseconds; the
# flame graph and the heatmaps are well-formed and agree with the folded
# file and the final per-class summary; both render to PNG.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use File::Temp qw(tempdir);
use LtTest;
use Test::More;

for my $tool ('xmllint --version', 'rsvg-convert --version') {
	if (system("$tool >/dev/null 2>&1") != 0) {
		plan skip_all => "$tool fails (scripts/packages/pictures.list)" unless ($ENV{LATRACK_REQUIRE_BPF} // '') eq '1';
		plan tests => 1;
		fail("required: $tool");
		exit 1;
	}
}
require_bpf();
my $B = B();
my ($N, $MS) = (10, 20);
my $tmp = tempdir(CLEANUP => 1);
my ($F, $G, $H) = ("$tmp/off.folded", "$tmp/flame.svg", "$tmp/lat.svg");

sub unxml { my ($s) = @_; $s =~ s/&lt;/</g; $s =~ s/&gt;/>/g; $s =~ s/&quot;/"/g; $s =~ s/&apos;/'/g; $s =~ s/&amp;/&/g; return $s; }
sub png_ok {
	my ($svg, $what) = @_;
	system('rsvg-convert', $svg, '-o', "$svg.png");
	my $bytes = -s "$svg.png" // 0;
	open my $p, '<:raw', "$svg.png";
	read($p, my $hdr, 24) if $p;
	my ($w, $h) = defined $hdr && length $hdr == 24 ? unpack('N2', substr($hdr, 16, 8)) : (0, 0);
	ok($bytes > 10000 && $w >= 1000 && $h >= 150, "$what renders to a non-trivial PNG ($w x $h, $bytes bytes)");
}

my $w = workload('sleep', $N, $MS);
my $l = latrack_start('-T', 'syscall,offcpu', '-p', $w->{pid}, '-m', '10ms', '--json',
		      '--folded', $F, '--flame', $G, '--svg', $H, '--svg-classes', 0)
	or BAIL_OUT('latrack run does not start');
my @rounds = rounds(go_and_wait($w));
my ($rc, $objs, $err) = latrack_stop($l);
is($rc, 0, 'exits 0') or diag($err);
is(scalar @rounds, $N, "the workload measured $N sleeps");
my $slept = 0;
$slept += $_->[1] - $_->[0] for @rounds;

# the outliers, as JSON: what the files must add up to
my @sleeps = grep { $_->{tid} == $w->{tid} && $_->{syscall} =~ /^(clock_)?nanosleep$/ }
	of_type($objs, 'outlier', tracker => 'syscall');
my @offs = grep { $_->{tid} == $w->{tid} } of_type($objs, 'outlier', tracker => 'offcpu');
is(scalar @sleeps, $N, "$N nanosleep outliers");
ok(@offs >= $N, "at least $N off-CPU outliers of the sleeper") or diag(scalar @offs);
my ($sum_sys, $sum_off) = (0, 0);
$sum_sys += $_->{delay_ns} for @sleeps;
$sum_off += $_->{delay_ns} for @offs;

# folded stacks
my @lines = split /\n/, slurp($F);
ok(@lines > 0, 'the folded file has lines');
is(scalar(grep { !/^[^;\n]+(;[^;\n]+)* \d+$/ } @lines), 0, "each line is 'frames value'");
my (%by, $total);
for (@lines) {
	my ($stack, $v) = /^(.*) (\d+)$/ or next;
	$by{$stack} += $v;
	$total += $v;
}
my @mine = grep { /^lt-sleeper;/ } keys %by;
my @sys = grep { /;(sleeper|sleep_ms);/ } @mine;    # with the user frames of the call site
my @off = grep { !/;(sleeper|sleep_ms);/ } @mine;   # offcpu: the sleeper's kernel stack only
ok(@sys >= 1, "syscall stacks of lt-sleeper name the workload's function (sleeper/sleep_ms)")
	or diag(join "\n", keys %by);
is(scalar(grep { !/^lt-sleeper;([^;]*;)*(sleeper|sleep_ms);([^;]*;)*[^;]*nanosleep[^;]*_\[k\]/ } @sys), 0,
   'user frames (outermost first), then kernel frames with _[k] where it blocked (nanosleep)');
is(scalar(grep { /_\[k\];(?![^;]*_\[k\])/ } @sys), 0, 'no user frame after a kernel frame');
my $v_sys = 0;
$v_sys += $by{$_} for @sys;
my $v_off = 0;
$v_off += $by{$_} for @off;
ok(abs($v_sys - $sum_sys / 1000) <= $N, "syscall stacks: $v_sys us = the $N outliers' delays (" . int($sum_sys / 1000) . " us, +-1 us each)");
ok($v_sys >= $N * $MS * 1000 && $v_sys * 1000 <= $slept + 2e6, "and between $N x $MS ms and the time the workload slept");
ok(@off >= 1 && abs($v_off - $sum_off / 1000) <= @offs, "offcpu stacks: $v_off us = the sleeper's off-CPU outliers (" . int($sum_off / 1000) . " us)");
ok(scalar(grep { /nanosleep[^;]*_\[k\]/ } @off), 'offcpu stacks: the kernel frames of the sleep');

# flame graph
my $flame = slurp($G);
my $x = `xmllint --noout '$G' 2>&1`;
ok($? == 0 && $x eq '', 'flame graph well-formed (xmllint)') or diag($x);
my ($ft) = $flame =~ /data-total="(\d+)"/;
is($ft, $total, 'flame graph total = the folded total');
ok($flame =~ /<title>sleeper: / || $flame =~ /<title>sleep_ms: /, "the workload's function is a frame (with a tooltip)");
my $procs = 0;
$procs += $1 while $flame =~ /data-depth="1" data-value="(\d+)"/g;
is($procs, $total, 'process frames add up to the total');
png_ok($G, 'flame graph');

# heatmaps
my $svg = slurp($H);
$x = `xmllint --noout '$H' 2>&1`;
ok($? == 0 && $x eq '', 'heatmap SVG well-formed (xmllint)') or diag($x);
my %cls;
for my $part (split /(?=<g id="class-\d+")/, $svg) {
	my ($name, $n) = $part =~ /^<g id="class-\d+" class="latclass" data-class="([^"]*)" data-count="(\d+)">/ or next;
	my ($hm) = $part =~ /<g class="heatmap">(.*?)<\/g>/s;
	my ($slow) = $part =~ /<g class="slowest"[^>]*>(.*?)<\/g>/s;
	my $cells = 0;
	$cells += $1 while ($hm // '') =~ /data-count="(\d+)"/g;
	$cls{ unxml($name) } = { count => $n, cells => $cells, slow => $slow // '' };
}
my ($sc) = grep { /^syscall (clock_)?nanosleep lt_workload\[$w->{pid}\]$/ } keys %cls;
ok($sc, 'a heatmap of the sleeps (syscall nanosleep of the process)') or diag(join ', ', keys %cls);
my ($sum) = grep { $_->{class} =~ /^(clock_)?nanosleep$/ && $_->{final} } of_type($objs, 'summary', tracker => 'syscall');
if ($sc && $sum) {
	is($cls{$sc}{count}, $sum->{count}, "its count = the final summary's ($sum->{count})");
	is($cls{$sc}{cells}, $cls{$sc}{count}, 'its cells add up to its count');
	like($cls{$sc}{slow}, qr/slowest #1: [0-9.]+ ms, ended at .*pid $w->{pid} tid $w->{tid} lt-sleeper/,
	     'the slowest samples are the outliers, with pid, tid and comm');
	like($svg, qr/$N above the threshold of 10 ms/, 'the outliers counted above the threshold');
}
my @bad = grep { $cls{$_}{cells} != $cls{$_}{count} } keys %cls;
ok(!@bad, 'every class: cells add up to its count') or diag(@bad);
like($svg, qr/Kernel latency: syscall offcpu/, 'title says what');
like($svg, qr/host [^,]+, live \(latrack run\), \d{4}-\d\d-\d\d/, 'and where and when');
png_ok($H, 'heatmaps');

my $help = `$B/latrack run --help`;
ok($help =~ /--folded FILE/ && $help =~ /--flame FILE/ && $help =~ /--svg FILE/ && $help =~ /microseconds/,
   '--help documents --svg, --folded (with its unit) and --flame');
done_testing();
