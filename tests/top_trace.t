#!/usr/bin/perl
# `latrack top TRACE`: the top screen fed from the real LTTng kernel traces
# in shared/traces.  --batch --fast -d 3600 reads a whole trace as one
# refresh; each syscall class (process x comm x syscall) must show the
# count and maximum computed here, independently of latrack's code, from
# babeltrace2's text output (the current thread of each CPU followed
# through sched_switch, syscall entry/exit paired per thread, as
# tests/trace_syscalls.t does).  The wakeup and irq trackers are checked
# against `latrack report --json` on the same trace; an unknown path is a
# usage error (exit 2); and one run on a terminal (tmux) shows the trace
# title and a class, and q quits with 0.
use strict;
use warnings;
use JSON::PP;
use File::Basename;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use lib dirname(__FILE__) . '/lib';
use TraceTest;

unless (-d "$traces/simple-kernel" && -x $latrack) {
	skip_all("no traces at $traces or no $latrack");
}
if (system("babeltrace2 --version >/dev/null 2>&1") != 0) {
	skip_all("babeltrace2 (the CLI) is not installed");
}
if (system('tmux -V >/dev/null 2>&1') != 0) {
	skip_all("tmux is not installed");
}

# latrack's duration format (ev_fmt_dur), for the MAX column.
sub fmt_dur {
	my ($ns) = @_;
	return "${ns}ns" if $ns < 1000;
	return sprintf("%.1fus", $ns / 1e3) if $ns < 1e6;
	return sprintf("%.2fms", $ns / 1e6) if $ns < 1e9;
	return sprintf("%.3fs", $ns / 1e9);
}

# The independent model: per (pid, comm, syscall) count and max, each
# thread under the process the trace names for it by its end.
sub expected {
	my ($dir) = @_;
	my (%cur, %open, %cls, %comm, %pid);
	open(my $bt, '-|', 'babeltrace2', '--clock-cycles', $dir) or die "babeltrace2: $!";
	while (my $line = <$bt>) {
		my ($ts, $ev, $cpu, $f) =
			$line =~ /^\[(\d+)\] \(\S+\) \S+ (\S+): \{ cpu_id = (\d+) \}, \{ ?(.*?) ?\}$/ or next;
		$ts += 0;
		if (thread_event($ev, $cpu, $f, \%cur, \%comm, \%pid)) {
			# who runs where, names and pids: the shared model
		} elsif ($ev =~ /^syscall_entry_(.*)/) {
			my $t = $cur{$cpu};
			next unless defined $t;
			$open{$t} = [$1, $ts];
		} elsif ($ev =~ /^syscall_exit_(.*)/) {
			my $t = $cur{$cpu};
			next unless defined $t;
			my $o = delete $open{$t} or next;
			my ($name, $begin) = @$o;
			my $d = $ts - $begin;
			# per thread for now: its process may be named later
			my $c = $cls{$t}{join('|', $comm{$t} // '', $name)} //= { count => 0, max => 0 };
			$c->{count}++;
			$c->{max} = $d if $d > $c->{max};
		}
	}
	close($bt);
	# Each thread's samples under its process as the whole trace names it
	# (latrack report's attribution; top moves a thread's samples to its
	# process once the trace names it): per (pid, comm, syscall).
	my %out;
	for my $t (keys %cls) {
		for my $cn (keys %{ $cls{$t} }) {
			my $c = $cls{$t}{$cn};
			my $o = $out{join('|', $pid{$t} // $t, $cn)} //= { count => 0, max => 0 };
			$o->{count} += $c->{count};
			$o->{max} = $c->{max} if $c->{max} > $o->{max};
		}
	}
	return \%out;
}

# latrack top --batch: the class rows of the last refresh, by tracker,
# keyed "pid|comm|class" => [count, p50, p99, max, time, all].
sub top_batch {
	my (@args) = @_;
	open(my $p, '-|', $latrack, 'top', '--batch', @args) or die "$latrack: $!";
	local $/;
	my $out = <$p>;
	close($p);
	ok($? == 0, "latrack top --batch @args exits 0") or return undef;
	my @screens = split /\n\n(?=latrack top  )/, $out;
	my $last = $screens[-1] // '';
	my (%rows, %nclasses, $trk);
	for (split /\n/, $last) {
		if (/^(\w+) latency per process: (\d+) of (\d+) classes/) {
			$trk = $1;
			$nclasses{$trk} = $3;
		} elsif (/^(\w+) class \d+:/ || /^latest outliers/) {
			$trk = undef;
		} elsif (defined $trk && /^[ >]\s*(\d+|-) (.*?)\s+(\S+(?: \S+)?)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)$/) {
			my ($pid, $comm, $cls, @v) = ($1, $2, $3, $4, $5, $6, $7, $8, $9);
			$comm =~ s/^\s+//;
			if ($cls =~ /^(\S+) (\S+)$/ && $trk eq 'syscall') { # comm with a space
				$comm = $comm eq '' ? $1 : "$comm $1";
				$cls = $2;
			}
			$rows{$trk}{"$pid|$comm|$cls"} = \@v;
		}
	}
	return { rows => \%rows, n => \%nclasses, out => $out, screens => scalar @screens };
}

for my $rel ('simple-kernel', 'wget-k-115043/kernel') {
	my $dir = "$traces/$rel";
	my $e = expected($dir);
	my $g = top_batch('--fast', '-d', 3600, '--rows', 100000, '--details', 0, $dir, '-T', 'syscall')
		or next;
	my $rows = $g->{rows}{syscall} // {};
	is($g->{screens}, 1, "$rel: one refresh covers the trace (-d 3600)");
	like_title($g->{out}, $rel);
	is($g->{n}{syscall}, scalar(keys %$e), "$rel: as many syscall classes as computed");
	my ($bad, $n) = (0, 0);
	for my $k (sort keys %$e) {
		my $r = $rows->{$k};
		$n++;
		my $want_max = fmt_dur($e->{$k}{max});
		if (!$r || $r->[5] != $e->{$k}{count} || $r->[3] ne $want_max) {
			diag("$rel: class $k: want ALL $e->{$k}{count} MAX $want_max, got "
			     . ($r ? "ALL $r->[5] MAX $r->[3]" : "no row")) if $bad++ < 10;
		}
	}
	ok($n > 20, "$rel: more than 20 syscall classes computed ($n)");
	is($bad, 0, "$rel: every class's ALL count and MAX as computed from babeltrace2");
}

sub like_title {
	my ($out, $rel) = @_;
	my ($name) = $rel =~ m{([^/]+)$};
	ok(scalar($out =~ /^latrack top  trace \S*\Q$name\E  \d\d:\d\d:\d\d UTC  END  every 3600\.000s fast$/m),
	   "$rel: the title names the trace, its time, and the end");
}

# wakeup and irq against latrack report on the same trace
{
	my $rel = 'wget-k-115043/kernel';
	my $dir = "$traces/$rel";
	open(my $p, '-|', $latrack, 'report', '--json', $dir, 'sched', 'irq') or die;
	local $/;
	my $d = decode_json(<$p> // '{}');
	close($p);
	my $g = top_batch('--fast', '-d', 3600, '--rows', 100000, '--details', 0, $dir, '-T', 'wakeup,irq');
	if ($g) {
		my $w = $g->{rows}{wakeup} // {};
		my $i = $g->{rows}{irq} // {};
		my ($sum, $rsum) = (0, 0);
		$sum += $_->[5] for values %$w;
		$rsum += $_->{count} for @{$d->{sched}{threads}};
		is($sum, $rsum, "$rel: wake-ups in all, as latrack report counts them");
		my $one = 0;
		for my $t (@{$d->{sched}{threads}}) {
			my $r = $w->{"$t->{tid}|$t->{comm}|wake-up"} or next;
			$one++ if $r->[5] == $t->{count} && $r->[3] eq fmt_dur($t->{max_ns});
		}
		ok($one >= 1, "$rel: wakeup classes with latrack report's count and max ($one)");
		my ($hard, $hbad) = (0, 0);
		for my $h (@{$d->{irq}{hard}}) {
			my $r = $i->{"-||irq $h->{irq}"};
			$hard++;
			next if $r && $r->[5] == $h->{count} && $r->[3] eq fmt_dur($h->{max_ns});
			$hbad++;
			diag("irq $h->{irq}: want $h->{count} " . fmt_dur($h->{max_ns}) . ", got " . ($r ? "@$r" : "none"));
		}
		for my $s (@{$d->{irq}{soft}}) {
			my $r = $i->{"-||softirq $s->{name}"};
			$hard++;
			next if $r && $r->[5] == $s->{count} && $r->[3] eq fmt_dur($s->{max_ns});
			$hbad++;
			diag("softirq $s->{name}: want $s->{count} " . fmt_dur($s->{max_ns}) . ", got " . ($r ? "@$r" : "none"));
		}
		ok($hard >= 2, "$rel: irq and softirq rows in latrack report ($hard)");
		is($hbad, 0, "$rel: every irq and softirq class with latrack report's count and max");
	}
}

# several refreshes: -d 1 of trace time each, the last one at the end
{
	# the trace lasts 0.30 s: refreshes at 0.1 and 0.2 s, the last at its end
	my $g = top_batch('--fast', '-d', '100ms', '--details', 0, "$traces/wget-k-115043/kernel", 'syscall');
	is($g ? $g->{screens} : 0, 4, "wget -d 100ms: a refresh per 100 ms of the trace, the last at its end");
	my @t = $g ? ($g->{out} =~ /^latrack top  trace .*$/mg) : ();
	is(scalar(grep { /  END  / } @t), 1, "wget -d 100ms: END on one refresh");
	ok(@t && $t[-1] =~ /  END  /, "wget -d 100ms: END on the last refresh");
}

# errors
{
	my $out = `$latrack top --batch /nonexistent/trace 2>&1`;
	is($? >> 8, 2, "an unknown path: exit 2");
	ok(scalar($out =~ /neither a tracker .* nor a trace directory/), "an unknown path: a clear message")
		or diag($out);
	my $tmp = tempdir(CLEANUP => 1);
	$out = `$latrack top --batch $tmp 2>&1`;
	is($? >> 8, 1, "a directory without a trace: exit 1");
	ok(scalar($out =~ /CTF|trace/i), "a directory without a trace: says why") or diag($out);
	$out = `$latrack top --batch $traces/simple-kernel offcpu 2>&1`;
	is($? >> 8, 2, "offcpu from a trace: exit 2");
}

# on a terminal (tmux, 80x24)
{
	my $tmp = tempdir(CLEANUP => 1);
	my $sock = "$tmp/tmux.sock";
	my @tmux = ('tmux', '-S', $sock);
	my $rc = "$tmp/rc";
	my $cmd = "$latrack top --fast -d 1 $traces/simple-kernel syscall; echo \$? > $rc";
	system(@tmux, 'new-session', '-d', '-s', 'tt', '-x', 80, '-y', 24, 'sh', '-c', $cmd) == 0
		or die "tmux new-session";
	my $s = '';
	my $t0 = time;
	while (time - $t0 < 20) {
		$s = `tmux -S $sock capture-pane -p -t tt 2>/dev/null`;
		last if $s =~ /END/ && $s =~ /^[ >]\s*\d+ \S+\s+\S+\s+\d+ /m;
		sleep 0.2;
	}
	ok(scalar($s =~ m{^latrack top  trace \S*simple-kernel  \d\d:\d\d:\d\d UTC}m), "tmux: the title names the trace")
		or diag($s);
	ok(scalar($s =~ /END/), "tmux: the end of the trace is shown, the screen kept");
	ok(scalar($s =~ /syscall latency per process/) && scalar($s =~ /^[ >]\s*\d+ \S+\s+\S+\s+\d+ /m), "tmux: a class row");
	system(@tmux, 'send-keys', '-t', 'tt', 'q');
	$t0 = time;
	sleep 0.1 while !-s $rc && time - $t0 < 10;
	my $code = -s $rc ? do { open(my $f, '<', $rc); local $/; <$f> } : 'none';
	chomp $code;
	is($code, '0', "tmux: q exits 0");
	system("tmux -S $sock kill-server 2>/dev/null");
}

finish();
