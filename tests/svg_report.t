#!/usr/bin/perl
# `latrack report --svg` on real LTTng traces: the SVG is well-formed
# (xmllint), holds the expected classes, and the counts it encodes (each
# class's data-count, its heatmap cells, its histogram bars) equal the
# samples counted independently from babeltrace2's text (irq: a Perl model
# of handler entry/exit, softirq raise/entry/exit per CPU) or by the text
# report (syscalls, sched); names from the trace are XML-escaped; it renders
# to a non-trivial PNG (rsvg-convert).
use strict;
use warnings;
use JSON::PP;
use File::Basename;
use File::Temp qw(tempdir);
use lib dirname(__FILE__) . '/lib';
use TraceTest;

my $cat = "$traces/cat-kern-ust/cat-kernel";
my $wget = "$traces/wget-k-115043/kernel";
my $ust = "$traces/cat-kern-ust/cat-ust";
for my $tool ('babeltrace2 --version', 'xmllint --version', 'rsvg-convert --version') {
	skip_all("$tool fails (scripts/packages/pictures.list)") if system("$tool >/dev/null 2>&1") != 0;
}
skip_all("no traces in $traces or no $latrack") if !-d $cat || !-d $wget || !-x $latrack;
my $tmp = tempdir(CLEANUP => 1);

sub like { my ($got, $re, $name) = @_; ok(defined $got && $got =~ $re, $name) or diag("  no match for $re"); }

sub unxml { my ($s) = @_; $s =~ s/&lt;/</g; $s =~ s/&gt;/>/g; $s =~ s/&quot;/"/g; $s =~ s/&apos;/'/g; $s =~ s/&amp;/&/g; return $s; }

# The classes of an SVG: name => { count, cells (sum of heatmap cells), bars (histogram) }, and the order.
sub classes {
	my ($file) = @_;
	open my $f, '<', $file or return ({}, []);
	my $svg = do { local $/; <$f> };
	my (%c, @order);
	for my $part (split /(?=<g id="class-\d+")/, $svg) {
		my ($name, $n) = $part =~ /^<g id="class-\d+" class="latclass" data-class="([^"]*)" data-count="(\d+)">/ or next;
		$name = unxml($name);
		my ($hm) = $part =~ /<g class="heatmap">(.*?)<\/g>/s;
		my ($hist) = $part =~ /<g class="histogram"[^>]*>(.*?)<\/g>/s;
		my ($cells, $bars) = (0, 0);
		$cells += $1 while ($hm // '') =~ /data-count="(\d+)"/g;
		$bars += $1 while ($hist // '') =~ /data-count="(\d+)"/g;
		$c{$name} = { count => $n, cells => $cells, bars => $bars };
		push @order, $name;
	}
	return (\%c, \@order, $svg);
}

sub wellformed {
	my ($file, $what) = @_;
	my $out = `xmllint --noout '$file' 2>&1`;
	ok($? == 0 && $out eq '', "$what: well-formed (xmllint)") or diag($out);
}

# irq, softirq and raise counts per class from babeltrace2's text
sub irq_model {
	my ($dir) = @_;
	my @vec = qw(HI TIMER NET_TX NET_RX BLOCK IRQ_POLL TASKLET SCHED HRTIMER RCU);
	my (%open, %n);
	open(my $bt, '-|', 'babeltrace2', '--clock-cycles', $dir) or die;
	while (my $l = <$bt>) {
		my ($ev, $cpu, $f) = $l =~ /^\[\d+\] \(\S+\) \S+ (\S+): \{ cpu_id = (\d+) \}, \{ ?(.*?) ?\}$/ or next;
		if ($ev =~ /^irq_handler_(entry|exit)$/) {
			my $kind = $1;
			my ($irq) = $f =~ /irq = (\d+)/;
			if ($kind eq 'entry') { $open{"h$cpu/$irq"} = 1; }
			elsif (delete $open{"h$cpu/$irq"}) { $n{"irq $irq"}++; }
		} elsif ($ev =~ /^irq_softirq_(raise|entry|exit)$/) {
			my $kind = $1;
			my ($v) = $f =~ /vec = (\d+)/;
			my $k = "$cpu/$v";
			if ($kind eq 'raise') { $open{"r$k"} //= 1; }
			elsif ($kind eq 'entry') {
				$n{"raise $vec[$v]"}++ if delete $open{"r$k"};
				$open{"s$k"} = 1;
			} elsif (delete $open{"s$k"}) { $n{"softirq $vec[$v]"}++; }
		}
	}
	close $bt;
	return \%n;
}

# 1. irq on cat-kernel, every class, against the model
{
	my $svg = "$tmp/irq.svg";
	my $out = `'$latrack' report '$cat' irq --svg '$svg' --svg-classes 0 2>&1`;
	is($?, 0, 'irq: report --svg exits 0');
	wellformed($svg, 'irq');
	my ($c, $order, $text) = classes($svg);
	my $m = irq_model($cat);
	is(scalar(keys %$c), scalar(keys %$m), 'irq: one class per IRQ, softirq vector and raise vector')
		or diag(join(' ', sort keys %$c) . ' vs ' . join(' ', sort keys %$m));
	my @bad = grep { !$c->{$_} || $c->{$_}{count} != $m->{$_} } sort keys %$m;
	ok(!@bad, 'irq: each class counts the samples of the model') or diag(map { "$_: " . ($c->{$_}{count} // 'none') . " vs $m->{$_}" } @bad);
	@bad = grep { $c->{$_}{cells} != $c->{$_}{count} || $c->{$_}{bars} != $c->{$_}{count} } keys %$c;
	ok(!@bad, 'irq: heatmap cells and histogram bars sum to the count, per class') or diag(map { "$_: $c->{$_}{cells} $c->{$_}{bars} $c->{$_}{count}" } @bad);
	my $total = 0;
	$total += $_ for values %$m;
	system("'$latrack' report '$cat' irq io --svg '$tmp/dsk.svg' --svg-classes 'disk 8,16,irq 27' >/dev/null");
	my (undef, $dsk) = classes("$tmp/dsk.svg");
	is("@$dsk", 'disk 8,16 irq 27', "--svg-classes 'disk 8,16,irq 27': a comma before a digit stays in the name");
	like($text, qr/\b$total samples\b/, "irq: the heading says $total samples");
	like($text, qr/trace \Q$cat\E, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} to/, 'irq: the title says where and when');
	like($text, qr/latency \(log scale\)/, 'irq: latency axis titled');
	like($text, qr/>[0-9.]+ (ns|\x{b5}s|µs|ms)</, 'irq: latency labels with units');
	like($text, qr/time \(s\) after \d\d:\d\d:\d\d\.\d{3} UTC/, 'irq: time axis titled with the clock time');
	ok($text !~ /<script|href=|\@import|url\(/, 'irq: self-contained (no script, link or external resource)');
	# PNG
	system('rsvg-convert', $svg, '-o', "$tmp/irq.png");
	my $png = -s "$tmp/irq.png" // 0;
	open my $p, '<:raw', "$tmp/irq.png";
	read($p, my $hdr, 24) if $p;
	my ($w, $h) = defined $hdr && length $hdr == 24 ? unpack('N2', substr($hdr, 16, 8)) : (0, 0);
	ok($png > 30000 && $w >= 1000 && $h > 1000, "irq: renders to a non-trivial PNG ($w x $h, $png bytes)");
}

# 2. syscalls and sched on wget: the classes and counts of the text report
{
	my $svg = "$tmp/sys.svg";
	my $json = `'$latrack' report '$wget' syscalls sched --json --svg '$svg' --svg-classes 0`;
	is($?, 0, 'syscalls: report --svg exits 0');
	wellformed($svg, 'syscalls');
	my $r = decode_json($json);
	my %want;
	$want{"syscall $_->{name}"} = $_->{count} for @{ $r->{syscalls}{total} };
	my $woken = 0;
	$woken += $_->{count} for @{ $r->{sched}{per_prio} // $r->{sched}{priorities} // [] };
	$want{'wake-up'} = $woken if $woken;
	my ($c, $order) = classes($svg);
	ok($woken > 0, "sched: $woken wake-ups in the report") or diag(join ' ', keys %{ $r->{sched} });
	my @bad = grep { ($c->{$_}{count} // -1) != $want{$_} } sort keys %want;
	ok(!@bad && keys %$c == keys %want, 'syscalls, sched: one class per syscall name and wake-up, with the report\'s counts')
		or diag(map { "$_: " . ($c->{$_}{count} // 'none') . " vs $want{$_}\n" } @bad);
	@bad = grep { $c->{$_}{cells} != $c->{$_}{count} || $c->{$_}{bars} != $c->{$_}{count} } keys %$c;
	ok(!@bad, 'syscalls: heatmap cells and histogram bars sum to the count');

	# default: the 8 classes with the most summed latency; --svg-sort count
	system("'$latrack' report '$wget' syscalls sched --svg '$tmp/top.svg' >/dev/null");
	my (undef, $top) = classes("$tmp/top.svg");
	is(scalar @$top, 8, 'default: 8 classes');
	system("'$latrack' report '$wget' syscalls sched --svg '$tmp/cnt.svg' --svg-classes 3 --svg-sort count >/dev/null");
	my (undef, $cnt) = classes("$tmp/cnt.svg");
	my @by_count = (sort { $want{$b} <=> $want{$a} || $a cmp $b } keys %want)[0 .. 2];
	is("@$cnt", "@by_count", '--svg-classes 3 --svg-sort count: the 3 largest counts, in order');
	system('sh', '-c', "'$latrack' report '$wget' syscalls sched --svg '$tmp/named.svg' --svg-classes 'wake-up,syscall read' >/dev/null");
	my (undef, $named) = classes("$tmp/named.svg");
	is("@$named", 'wake-up syscall read', '--svg-classes NAME,NAME: those, in that order');
	system("'$latrack' report '$wget' syscalls --min 1ms --svg '$tmp/min.svg' --svg-classes 0 >/dev/null");
	my ($cm) = classes("$tmp/min.svg");
	my $n = `'$latrack' report '$wget' syscalls --min 1ms --json`;
	my %wm = map { ("syscall $_->{name}" => $_->{count}) } @{ decode_json($n)->{syscalls}{total} };
	ok(!grep({ ($cm->{$_}{count} // -1) != $wm{$_} } keys %wm) && keys %$cm == keys %wm, '--min applies to the pictures too');
}

# 3. names from the trace and the command line are escaped; the stack options say why not
{
	my $name = qq{f<&>"'\x01};
	my $svg = "$tmp/pair.svg";
	open(my $save, '>&', \*STDOUT) or die;
	open(STDOUT, '>', '/dev/null') or die;
	my $rc = system($latrack, 'report', $ust, '--pair', "$name=lttng_ust_cyg_profile:func_entry..lttng_ust_cyg_profile:func_exit:addr",
			'--threshold', "$name=1ms", '--svg', $svg);
	open(STDOUT, '>&', $save) or die;
	is($rc, 0, 'pair: report --svg exits 0');
	wellformed($svg, 'pair');
	my ($c) = classes($svg);
	ok($c->{"pair f<&>\"'\\x01"}, 'pair name escaped (XML entities, \\x01)') or diag(join ' ', keys %$c);
	like(scalar `cat '$svg'`, qr/849 samples, .*; 5 above the threshold of 1 ms/, 'pair --threshold: the 5 pairs over 1 ms counted, and drawn');
	my $err = `'$latrack' report '$cat' --folded /dev/null 2>&1`;
	ok($? >> 8 == 2 && $err =~ /no stacks|reads none/, 'report --folded: refused, saying traces carry no stacks here');
	$err = `'$latrack' report '$cat' --svg /nonexistent/dir/x.svg irq 2>&1 >/dev/null`;
	ok($? >> 8 == 1 && $err =~ /cannot write/, 'unwritable --svg file: exit 1 with a message');
	my $help = `'$latrack' report --help`;
	ok($help =~ /--svg FILE/ && $help =~ /--svg-classes/ && $help =~ /report TRACE .*--svg/, '--help documents --svg with an example');
}
finish();
