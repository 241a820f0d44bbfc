#!/usr/bin/perl
# `latrack report syscalls / latency-top` on the real LTTng kernel traces in
# shared/traces, checked against figures computed here, independently of
# latrack's code: babeltrace2's text output (--clock-cycles: the kernel
# clocks run at 1 GHz, so cycles are ns) is parsed below, the current thread
# of each CPU followed through sched_switch, and syscall entry/exit paired
# per thread.  Every number is compared: counts and return values exactly,
# min/max exactly, mean and stddev to 1 ns.
use strict;
use warnings;
use JSON::PP;
use File::Basename;
use lib dirname(__FILE__) . '/lib';
use TraceTest;



unless (-d "$traces/simple-kernel" && -x $latrack) {
	skip_all("no traces at $traces or no $latrack");
}
if (system("babeltrace2 --version >/dev/null 2>&1") != 0) {
	skip_all("babeltrace2 (the CLI) is not installed");
}

# The independent model: per-TID syscall statistics from babeltrace2 text.
sub expected {
	my ($dir) = @_;
	my (%cur, %open, %st, %comm, %pid, @lat, $first);
	my ($unmatched, $unknown) = (0, 0);
	open(my $bt, '-|', 'babeltrace2', '--clock-cycles', $dir) or die "babeltrace2: $!";
	while (my $line = <$bt>) {
		my ($ts, $ev, $cpu, $f) =
			$line =~ /^\[(\d+)\] \(\S+\) \S+ (\S+): \{ cpu_id = (\d+) \}, \{ ?(.*?) ?\}$/ or next;
		$ts += 0;
		$first //= $ts;
		if (thread_event($ev, $cpu, $f, \%cur, \%comm, \%pid)) {
			# who runs where, names and pids: the shared model
		} elsif ($ev =~ /^syscall_entry_(.*)/) {
			my $t = $cur{$cpu};
			if (!defined $t) { $unknown++; next; }
			$open{$t} = [$1, $ts];
		} elsif ($ev =~ /^syscall_exit_(.*)/) {
			my $t = $cur{$cpu};
			if (!defined $t) { $unknown++; next; }
			my $o = delete $open{$t};
			if (!$o) { $unmatched++; next; }
			my ($name, $begin) = @$o;
			my ($ret) = $f =~ /\bret = (-?\d+)/;
			my $d = $ts - $begin;
			my $s = $st{$t}{$name} //= { count => 0, sum => 0, sq => 0, rets => {} };
			$s->{count}++;
			$s->{sum} += $d;
			$s->{sq} += $d * $d;
			$s->{min} = $d if !defined $s->{min} || $d < $s->{min};
			$s->{max} = $d if !defined $s->{max} || $d > $s->{max};
			$s->{ret_raw}{$ret // 0}++;
			push @lat, [$d, $t, $name, $ret // 0, $begin, $ts];
		}
	}
	close($bt);
	return { first => $first, st => \%st, comm => \%comm, pid => \%pid, unmatched => $unmatched,
		 unknown => $unknown, never => scalar(keys %open), lat => \@lat };
}

sub latrack_json {
	my (@args) = @_;
	open(my $p, '-|', $latrack, 'report', '--json', @args) or die "$latrack: $!";
	local $/;
	my $out = <$p>;
	close($p);
	ok($? == 0, "latrack report @args exits 0") or return undef;
	my $d = eval { decode_json($out) };
	ok($d, "latrack report @args prints valid JSON") or diag($@);
	return $d;
}

# errno numbers to names, independently of latrack (Linux x86-64 values).
my %errno = (1 => 'EPERM', 2 => 'ENOENT', 4 => 'EINTR', 9 => 'EBADF', 11 => 'EAGAIN',
	     13 => 'EACCES', 14 => 'EFAULT', 17 => 'EEXIST', 22 => 'EINVAL', 25 => 'ENOTTY',
	     32 => 'EPIPE', 61 => 'ENODATA', 95 => 'EOPNOTSUPP', 104 => 'ECONNRESET',
	     110 => 'ETIMEDOUT', 111 => 'ECONNREFUSED', 115 => 'EINPROGRESS', 512 => 'ERESTARTSYS',
	     38 => 'ENOSYS', 513 => 'ERESTARTNOINTR', 514 => 'ERESTARTNOHAND', 516 => 'ERESTART_RESTARTBLOCK', 3 => 'ESRCH', 10 => 'ECHILD', 20 => 'ENOTDIR', 21 => 'EISDIR',
	     107 => 'ENOTCONN', 113 => 'EHOSTUNREACH', 29 => 'ESPIPE', 36 => 'ENAMETOOLONG',
	     39 => 'ENOTEMPTY', 62 => 'ETIME', 75 => 'EOVERFLOW', 97 => 'EAFNOSUPPORT',
	     99 => 'EADDRNOTAVAIL', 24 => 'EMFILE', 12 => 'ENOMEM', 16 => 'EBUSY', 6 => 'ENXIO',
	     19 => 'ENODEV', 5 => 'EIO', 7 => 'E2BIG', 8 => 'ENOEXEC', 18 => 'EXDEV');

sub ret_names {
	my ($raw) = @_;
	my %r = (success => 0);
	for my $v (keys %$raw) {
		if ($v < 0 && $v >= -4095) {
			my $name = $errno{-$v};
			if (!defined $name) {
				# glibc knows it, latrack (through glibc) names it;
				# E<n> is latrack's fallback when glibc does not
				$name = "E" . (-$v);
			}
			$r{$name} += $raw->{$v};
		} else {
			$r{success} += $raw->{$v};
		}
	}
	return \%r;
}

sub check_trace {
	my ($rel) = @_;
	my $dir = "$traces/$rel";
	my $e = expected($dir);
	my $d = latrack_json($dir, 'syscalls', 'latency-top', '--limit', 5) or return;
	my $s = $d->{syscalls};

	is($s->{unmatched_exits}, $e->{unmatched}, "$rel: exits without entry");
	is($s->{never_ended}, $e->{never}, "$rel: entries without exit");
	is($s->{unknown_thread}, $e->{unknown}, "$rel: syscall events before the CPU's first sched_switch");
	is($d->{discarded}{events}, 0, "$rel: no discarded events (none in this trace)");
	is($s->{dropped}, 0, "$rel: no syscall entry dropped by the tracker");

	my %got;
	for my $t (@{$s->{threads}}) {
		$got{$t->{tid}}{$_->{name}} = $_ for @{$t->{syscalls}};
		is($t->{comm}, $e->{comm}{$t->{tid}}, "$rel: comm of tid $t->{tid}") if $t->{tid} % 7 == 0;
		is($t->{pid}, $e->{pid}{$t->{tid}} // -1, "$rel: pid of tid $t->{tid}") if $t->{tid} % 7 == 0;
	}
	my ($pairs, $bad) = (0, 0);
	my @badmsg;
	my $want_pairs = 0;
	for my $tid (sort { $a <=> $b } keys %{$e->{st}}) {
		for my $name (sort keys %{$e->{st}{$tid}}) {
			my $w = $e->{st}{$tid}{$name};
			my $g = $got{$tid}{$name};
			$want_pairs++;
			my $mean = $w->{sum} / $w->{count};
			my $sd = $w->{count} > 1
				? sqrt(($w->{sq} - $w->{sum} * $w->{sum} / $w->{count}) / ($w->{count} - 1)) : 0;
			my @why;
			if (!$g) { push @why, "missing"; }
			else {
				push @why, "count $g->{count} != $w->{count}" if $g->{count} != $w->{count};
				push @why, "min $g->{min_ns} != $w->{min}" if $g->{min_ns} != $w->{min};
				push @why, "max $g->{max_ns} != $w->{max}" if $g->{max_ns} != $w->{max};
				push @why, "avg $g->{avg_ns} != $mean" if abs($g->{avg_ns} - $mean) > 1;
				push @why, "stddev $g->{stddev_ns} != $sd" if abs($g->{stddev_ns} - $sd) > 1 + 1e-6 * $sd;
				my $wr = ret_names($w->{ret_raw});
				my $gr = $g->{returns};
				for my $k (sort keys %{{%$wr, %$gr}}) {
					push @why, "returns{$k} " . ($gr->{$k} // 0) . " != " . ($wr->{$k} // 0)
						if ($gr->{$k} // 0) != ($wr->{$k} // 0);
				}
			}
			if (@why) { $bad++; push @badmsg, "tid $tid $name: @why"; } else { $pairs++; }
		}
	}
	my $got_pairs = 0;
	$got_pairs += keys %{$got{$_}} for keys %got;
	ok($bad == 0 && $got_pairs == $want_pairs,
	   "$rel: $want_pairs (tid, syscall) rows: count, min, max, avg, stddev, return values all equal")
		or diag(@badmsg[0 .. ($#badmsg < 9 ? $#badmsg : 9)], "rows: got $got_pairs, want $want_pairs");

	# per process: threads summed by pid (statedump, fork; else the tid)
	my (%pw, %pg, @ppbad);
	for my $tid (keys %{$e->{st}}) {
		my $pid = $e->{pid}{$tid} // $tid;
		for my $name (keys %{$e->{st}{$tid}}) {
			my $w = $e->{st}{$tid}{$name};
			my $x = $pw{$pid}{$name} //= { count => 0, sum => 0 };
			$x->{count} += $w->{count};
			$x->{sum} += $w->{sum};
			$x->{min} = $w->{min} if !defined $x->{min} || $w->{min} < $x->{min};
			$x->{max} = $w->{max} if !defined $x->{max} || $w->{max} > $x->{max};
		}
	}
	for my $pr (@{$s->{processes}}) {
		$pg{$pr->{pid}}{$_->{name}} = $_ for @{$pr->{syscalls}};
	}
	my $np = 0;
	for my $pid (keys %pw) {
		for my $name (keys %{$pw{$pid}}) {
			my ($w, $g) = ($pw{$pid}{$name}, $pg{$pid}{$name});
			$np++;
			if (!$g) { push @ppbad, "pid $pid $name: missing"; next; }
			push @ppbad, "pid $pid $name: $g->{count}/$g->{min_ns}/$g->{max_ns} vs $w->{count}/$w->{min}/$w->{max}"
				if $g->{count} != $w->{count} || $g->{min_ns} != $w->{min} || $g->{max_ns} != $w->{max} ||
				   abs($g->{avg_ns} - $w->{sum} / $w->{count}) > 1;
		}
	}
	ok(!@ppbad, "$rel: $np (process, syscall) rows: count, min, max, avg equal")
		or print map { "#   $_\n" } @ppbad[0 .. ($#ppbad < 9 ? $#ppbad : 9)];

	# percentiles (lt_hist): within 1/64 of the exact nearest-rank value
	my %vals;
	push @{$vals{"$_->[1] $_->[2]"}}, $_->[0] for @{$e->{lat}};
	my ($pc, @pbad) = (0);
	for my $k (sort keys %vals) {
		my ($tid, $name) = split / /, $k;
		my $g = $got{$tid}{$name} or next;
		my @v = sort { $a <=> $b } @{$vals{$k}};
		for my $p (50, 90, 99) {
			my $rank = int($p / 100 * @v + 0.999999999);
			$rank = 1 if $rank < 1;
			my $x = $v[$rank - 1];
			my $gv = $g->{"p${p}_ns"};
			$pc++;
			push @pbad, "tid $tid $name p$p: $gv vs exact $x" if abs($gv - $x) > $x / 64 + 1;
		}
	}
	ok(!@pbad, "$rel: $pc percentiles (p50, p90, p99) within 1/64 of the exact values")
		or print map { "#   $_\n" } @pbad[0 .. ($#pbad < 9 ? $#pbad : 9)];

	# the read syscalls of the busiest reader, spelled out
	my ($rt) = sort { ($e->{st}{$b}{read}{count} // 0) <=> ($e->{st}{$a}{read}{count} // 0) || $a <=> $b }
		keys %{$e->{st}};
	if ($e->{st}{$rt}{read}) {
		my $w = $e->{st}{$rt}{read};
		is($got{$rt}{read}{count}, $w->{count}, "$rel: read count of tid $rt ($e->{comm}{$rt})");
		is($got{$rt}{read}{min_ns}, $w->{min}, "$rel: read min ns of tid $rt");
		is($got{$rt}{read}{max_ns}, $w->{max}, "$rel: read max ns of tid $rt");
	}

	# latency-top: the 5 slowest, with tid and syscall
	my @top = sort { $b->[0] <=> $a->[0] } @{$e->{lat}};
	my $lt = $d->{latency_top};
	is(scalar(@$lt), 5, "$rel: latency-top has 5 rows");
	for my $i (0 .. 4) {
		last unless $top[$i] && $lt->[$i];
		is("$lt->[$i]{latency_ns} $lt->[$i]{tid} $lt->[$i]{syscall}",
		   "$top[$i][0] $top[$i][1] $top[$i][2]", "$rel: latency-top #" . ($i + 1));
		is($lt->[$i]{end_ns} - $lt->[$i]{begin_ns}, $lt->[$i]{latency_ns},
		   "$rel: latency-top #" . ($i + 1) . " end - begin = latency");
	}
}

check_trace($_) for qw(simple-kernel wget-k-115043/kernel wget-k-115406/kernel cat-kern-ust/cat-kernel);

# The whole tree: four traces found and merged.
{
	my $d = latrack_json($traces, 'syscalls');
	is($d->{trace}{traces}, 5, "tree of traces: all 5 found under $traces") if $d;
	my $total = 0;
	$total += $_ for (11980, 28383, 17702, 100420, 1885);
	is($d->{trace}{events}, $total, "tree of traces: every event read") if $d;
}

# Filters: --tid keeps that thread only; --min leaves out short ones.
{
	my $dir = "$traces/simple-kernel";
	my $e = expected($dir);
	my $d = latrack_json($dir, '--tid', '1860', 'syscalls');
	if ($d) {
		my @tids = map { $_->{tid} } @{$d->{syscalls}{threads}};
		is("@tids", "1860", "--tid 1860 reports that thread only");
		my $w = $e->{st}{1860}{select};
		my ($g) = grep { $_->{name} eq 'select' } @{$d->{syscalls}{threads}[0]{syscalls}};
		is($g->{count}, $w->{count}, "--tid 1860: select count");
	}
	$d = latrack_json($dir, '--min', '1ms', 'syscalls');
	if ($d) {
		my $want = grep { $_->[0] >= 1_000_000 } @{$e->{lat}};
		is($d->{syscalls}{recorded}, $want, "--min 1ms: $want syscalls of 1 ms or more");
	}
}

# --begin/--end: only syscalls that begin and end in the window
{
	my $dir = "$traces/cat-kern-ust/cat-kernel";
	my $e = expected($dir);
	my ($b, $en) = ($e->{first} + 10_000_000, $e->{first} + 60_000_000);
	my $want = grep { $_->[4] >= $b && $_->[5] <= $en } @{$e->{lat}};
	my $d = latrack_json($dir, '--begin', '+10ms', '--end', '+60ms', 'syscalls');
	is($d->{syscalls}{recorded}, $want, "--begin +10ms --end +60ms: the $want syscalls inside") if $d;
}

finish();
