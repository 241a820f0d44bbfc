#!/usr/bin/perl
# `latrack report sched irq io` on the real kernel traces, against a Perl
# model of babeltrace2's text output (--clock-cycles, 1 GHz: ns):
#   sched: wake-up (sched_waking; sched_wakeup until a trace's first
#          sched_waking; sched_wakeup_new) -> sched_switch next_tid, per TID
#          and per priority; the waker is the thread current on the waking
#          event's CPU; the slowest five with their waker;
#   irq:   irq_handler_entry -> exit per (CPU, IRQ), softirq entry -> exit and
#          first raise -> entry per (CPU, vector);
#   io:    block_rq_issue -> block_rq_complete per (dev, sector).
# Counts exactly, min/max exactly, mean and stddev to 1 ns.
use strict;
use warnings;
use JSON::PP;
use File::Basename;
use lib dirname(__FILE__) . '/lib';
use TraceTest;



if (!-d "$traces/simple-kernel" || !-x $latrack || system("babeltrace2 --version >/dev/null 2>&1") != 0) {
	skip_all("no traces, no $latrack or no babeltrace2");
}

sub add { my ($h, $k, $d) = @_;
	my $s = $h->{$k} //= { count => 0, sum => 0, sq => 0 };
	$s->{count}++; $s->{sum} += $d; $s->{sq} += $d * $d;
	$s->{min} = $d if !defined $s->{min} || $d < $s->{min};
	$s->{max} = $d if !defined $s->{max} || $d > $s->{max}; }

sub model {
	my ($dir) = @_;
	my (%cur, %wake, %tid, %prio, @top, %hard_open, %hard, %soft_open, %soft, %raise_open, %raise, %io_open, %io);
	my $have_waking = 0;
	open(my $bt, '-|', 'babeltrace2', '--clock-cycles', $dir) or die;
	while (my $l = <$bt>) {
		my ($ts, $ev, $cpu, $f) = $l =~ /^\[(\d+)\] \(\S+\) \S+ (\S+): \{ cpu_id = (\d+) \}, \{ ?(.*?) ?\}$/
			or next;
		$ts += 0;
		if ($ev =~ /^sched_(waking|wakeup|wakeup_new)$/) {
			my $kind = $1;
			$have_waking = 1 if $kind eq 'waking';
			next if $kind eq 'wakeup' && $have_waking;
			my ($t) = $f =~ /\btid = (\d+)/;
			my ($p) = $f =~ /\bprio = (-?\d+)/;
			$wake{$t} = [$ts, $cur{$cpu} // -1, $p];
		} elsif ($ev eq 'sched_switch') {
			my ($nt) = $f =~ /next_tid = (\d+)/;
			if ($nt != 0 && (my $w = delete $wake{$nt})) {
				my $d = $ts - $w->[0];
				add(\%tid, $nt, $d);
				add(\%prio, $w->[2], $d);
				push @top, [$d, $w->[0], $nt, $w->[1]];
			}
			$cur{$cpu} = $nt;
		} elsif ($ev eq 'irq_handler_entry') {
			my ($irq) = $f =~ /irq = (\d+)/;
			$hard_open{"$cpu/$irq"} = $ts;
		} elsif ($ev eq 'irq_handler_exit') {
			my ($irq) = $f =~ /irq = (\d+)/;
			my $b = delete $hard_open{"$cpu/$irq"};
			add(\%hard, $irq, $ts - $b) if defined $b;
		} elsif ($ev =~ /^irq_softirq_(raise|entry|exit)$/) {
			my $kind = $1;
			my ($vec) = $f =~ /vec = (\d+)/;
			my $k = "$cpu/$vec";
			if ($kind eq 'raise') {
				$raise_open{$k} //= $ts;
			} elsif ($kind eq 'entry') {
				my $b = delete $raise_open{$k};
				add(\%raise, $vec, $ts - $b) if defined $b;
				$soft_open{$k} = $ts;
			} else {
				my $b = delete $soft_open{$k};
				add(\%soft, $vec, $ts - $b) if defined $b;
			}
		} elsif ($ev =~ /^block_rq_(issue|complete)$/) {
			my $kind = $1;
			my ($dev, $sec) = $f =~ /dev = (\d+), sector = (\d+)/;
			if ($kind eq 'issue') { $io_open{"$dev/$sec"} = $ts; }
			elsif (defined(my $b = delete $io_open{"$dev/$sec"})) {
				add(\%io, ($dev >> 20) . "," . ($dev & 0xfffff), $ts - $b);
			}
		}
	}
	close($bt);
	@top = sort { $b->[0] <=> $a->[0] || $a->[1] <=> $b->[1] } @top;
	return { tid => \%tid, prio => \%prio, top => \@top, never => scalar(keys %wake),
		 hard => \%hard, soft => \%soft, raise => \%raise, io => \%io,
		 waking => $have_waking };
}

# compare a list of latrack rows (key field KF) with the model's hash
sub compare {
	my ($what, $rows, $kf, $want) = @_;
	my @bad;
	my %seen;
	for my $r (@$rows) {
		my $k = $r->{$kf};
		$seen{$k} = 1;
		my $w = $want->{$k};
		if (!$w) { push @bad, "$k: not in the model"; next; }
		my $mean = $w->{sum} / $w->{count};
		my $sd = $w->{count} > 1 ? sqrt(($w->{sq} - $w->{sum} ** 2 / $w->{count}) / ($w->{count} - 1)) : 0;
		push @bad, "$k: count $r->{count} != $w->{count}" if $r->{count} != $w->{count};
		push @bad, "$k: min $r->{min_ns} != $w->{min}" if $r->{min_ns} != $w->{min};
		push @bad, "$k: max $r->{max_ns} != $w->{max}" if $r->{max_ns} != $w->{max};
		push @bad, "$k: avg $r->{avg_ns} != $mean" if abs($r->{avg_ns} - $mean) > 1;
		push @bad, "$k: stddev $r->{stddev_ns} != $sd" if abs($r->{stddev_ns} - $sd) > 1 + 1e-6 * $sd;
	}
	push @bad, map { "$_: missing" } grep { !$seen{$_} } keys %$want;
	ok(!@bad, "$what: " . scalar(keys %$want) . " rows: count, min, max, avg, stddev equal")
		or print map { "#   $_\n" } @bad[0 .. ($#bad < 9 ? $#bad : 9)];
}

for my $rel (qw(simple-kernel wget-k-115043/kernel wget-k-115406/kernel cat-kern-ust/cat-kernel)) {
	my $dir = "$traces/$rel";
	my $m = model($dir);
	open(my $p, '-|', $latrack, 'report', '--json', '--limit', 5, $dir, 'sched', 'irq', 'io') or die;
	my $out = do { local $/; <$p> };
	close($p);
	ok($? == 0, "$rel: latrack report sched irq io exits 0");
	my $j = eval { decode_json($out) } or do { ok(0, "$rel: JSON"); next; };
	my $s = $j->{sched};
	is($s->{wakeup_event}, $m->{waking} ? 'sched_waking' : 'sched_wakeup', "$rel: wake-up event used");
	compare("$rel: sched per tid", $s->{threads}, 'tid', $m->{tid});
	compare("$rel: sched per prio", $s->{priorities}, 'prio', $m->{prio});
	is($s->{never_switched_in}, $m->{never}, "$rel: woken, never switched in");
	for my $i (0 .. 4) {
		my ($g, $w) = ($s->{top}[$i], $m->{top}[$i]);
		last unless $w;
		is("$g->{latency_ns} $g->{tid} $g->{waker_tid}", "$w->[0] $w->[2] $w->[3]",
		   "$rel: sched top #" . ($i + 1) . " (latency, tid, waker)");
	}
	compare("$rel: hard IRQ durations", $j->{irq}{hard}, 'irq', $m->{hard});
	compare("$rel: softirq durations", $j->{irq}{soft}, 'vec', $m->{soft});
	compare("$rel: softirq raise latency", $j->{irq}{raise}, 'vec', $m->{raise});
	compare("$rel: block requests per disk", $j->{io}{disks}, 'dev', $m->{io});
}

# --freq: every distribution accounts for every sample, from min to max
{
	my $dir = "$traces/simple-kernel";
	open(my $p, '-|', $latrack, 'report', '--json', '--freq-resolution', 7, $dir) or die;
	my $out = do { local $/; <$p> };
	close($p);
	my $j = eval { decode_json($out) };
	ok($j, "--freq: valid JSON") or print "# $@\n";
	my @d = (map({ [$_, "syscall $_->{name}"] } @{$j->{syscalls}{freq}}),
		 map({ [$_, "sched $_->{name}"] } @{$j->{sched}{freq}}),
		 map({ [$_, "irq $_->{name}"] } @{$j->{irq}{hard_freq}}, @{$j->{irq}{soft_freq}}),
		 map({ [$_, "io $_->{name}"] } @{$j->{io}{freq}}));
	my %count = (map({ ("syscall $_->{name}" => $_) } @{$j->{syscalls}{total}}),
		     map({ ("sched prio $_->{prio}" => $_) } @{$j->{sched}{priorities}}),
		     map({ ("io $_->{dev}" => $_) } @{$j->{io}{disks}}));
	my @bad;
	for (@d) {
		my ($f, $name) = @$_;
		my $sum = 0;
		$sum += $_->{count} for @{$f->{bins}};
		push @bad, "$name: " . scalar(@{$f->{bins}}) . " bins" if @{$f->{bins}} != 7;
		if (my $r = $count{$name}) {
			push @bad, "$name: bins sum $sum != count $r->{count}" if $sum != $r->{count};
			push @bad, "$name: from $f->{bins}[0]{lo_ns}, min $r->{min_ns}" if $f->{bins}[0]{lo_ns} != $r->{min_ns};
			push @bad, "$name: to $f->{bins}[-1]{hi_ns}, max $r->{max_ns}"
				if $r->{max_ns} > $r->{min_ns} && abs($f->{bins}[-1]{hi_ns} - $r->{max_ns}) > 1;
		}
	}
	ok(@d > 50 && !@bad, "--freq: " . scalar(@d) . " distributions of 7 bins, each summing to its count, min to max")
		or print map { "#   $_\n" } @bad[0 .. ($#bad < 9 ? $#bad : 9)];
}

finish();
