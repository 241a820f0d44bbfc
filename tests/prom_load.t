#!/usr/bin/perl
# /metrics under load: 50 concurrent scrapers for 10 seconds (after a
# 2-second warm-up) against the Prometheus output serving a synthetic
# snapshot that changes every 100 ms (build/tests/prom_render serve: 300
# classes, 183 series, ~0.5 MB a body).  Half the scrapers open a connection
# per request, half keep theirs alive.  Every reply must be a complete 200
# with the whole body; the server's resident memory must not grow between
# the end of the warm-up and the end of the run; its own status must count
# the scrapes and no error.  Then the same server built with ASan/LSan
# (build/asan/tests/prom_render) for 3 seconds with 10 scrapers, a third of
# which hang up in the middle of a body: no leak and no invalid access at
# exit (a leak of a few bytes per scrape hides in RSS noise, not from LSan).
use strict;
use warnings;
use IO::Socket::IP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $B = $ENV{LATRACK_BUILD} // 'build';
my ($SCRAPERS, $WARM, $SECS) = (50, 2, 10);
my $RSS_SLACK_KB = 2048; # allocator noise; one leaked body a tick would be 50 MB

my ($n, $failed) = (0, 0);
sub ok {
	my ($c, $name) = @_;
	$n++;
	$failed++ unless $c;
	print(($c ? 'ok' : 'not ok') . " $n - $name\n");
	return $c;
}
sub diag { print map { "# $_\n" } @_ }

if (!-x "$B/tests/prom_render") {
	print "1..1\nnot ok 1 - $B/tests/prom_render not built\n";
	exit 1;
}

my ($spid, $srv, $port);
my @kids;
$SIG{PIPE} = 'IGNORE';
$SIG{$_} = sub { $SIG{INT} = $SIG{TERM} = $SIG{HUP} = 'IGNORE'; exit 1 } for qw(INT TERM HUP);
my $parent = $$;
END {
	return if $$ != $parent; # a scraper's _exit skips END; a die in one must not kill the others
	kill 'KILL', @kids if @kids;
	kill 'TERM', $spid if $spid && kill(0, $spid);
}

sub start_server {
	my ($bin) = @_;
	$spid = open($srv, '-|', $bin, 'serve') or die "$bin serve: $!";
	my $line = <$srv> // '';
	($port) = $line =~ /^port (\d+)/ or die "$bin serve printed '$line'";
}

# SIGTERM; its exit code and the status line it prints.
sub stop_server {
	kill 'TERM', $spid;
	my @out = <$srv>;
	close $srv;
	my $rc = $?;
	$spid = undef;
	my ($st) = grep { /^prometheus: / } @out;
	return ($rc, $st);
}

sub rss_kb {
	open my $f, '<', "/proc/$spid/status" or return undef;
	while (<$f>) { return $1 if /^VmRSS:\s+(\d+) kB/ }
	return undef;
}

# One scraper: GET /metrics until the deadline; prints "ok N err M".
# $keep: keep the connection alive; $hangup: close after 1000 bytes.
sub scraper {
	my ($keep, $hangup, $deadline, $out) = @_;
	my ($good, $bad, $s) = (0, 0, undef);
	my $last_err = '';
	while (time < $deadline) {
		$s //= IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 10);
		if (!$s) { $bad++; $last_err = "connect: $!"; sleep 0.01; next }
		print $s "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			. ($keep ? '' : "Connection: close\r\n") . "\r\n";
		my $status = <$s> // '';
		my ($len, $close) = (undef, !$keep);
		while (defined(my $h = <$s>)) {
			last if $h eq "\r\n";
			$len = $1 if $h =~ /^Content-Length:\s*(\d+)/i;
			$close = 1 if $h =~ /^Connection:\s*close/i;
		}
		my $body = '';
		if ($hangup) {
			read($s, $body, 1000);
			close $s;
			$s = undef;
			$status =~ m{^HTTP/1\.1 200 } ? $good++ : $bad++;
			next;
		}
		if (defined $len) {
			while (length($body) < $len) {
				my $got = read($s, $body, $len - length($body), length($body));
				last unless $got;
			}
		}
		if ($status =~ m{^HTTP/1\.1 200 } && defined $len && length($body) == $len
		    && $body =~ /\nlatrack_bpf_reloads_total \d+\n\z/
		    && $body =~ /^latrack_syscall_latency_seconds_bucket\{syscall="s000",comm="comm\\"0\\\\xff",le="\+Inf"\} \d+$/m) {
			$good++;
		} else {
			$bad++;
			$last_err = "status '" . ($status =~ s/\s+$//r) . "', " . length($body) . " of "
				. ($len // 'no length') . ' bytes';
			$close = 1;
		}
		if ($close) { close $s; $s = undef }
	}
	print $out "ok $good err $bad $last_err\n";
}

# $n scrapers until $deadline; returns (good, bad, errors).
sub scrapers {
	my ($nr, $deadline, $hangups) = @_;
	pipe(my $rd, my $wr) or die "pipe: $!";
	for my $i (1 .. $nr) {
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			close $rd;
			$wr->autoflush(1);
			eval { scraper($i % 2, $hangups && $i % 3 == 0, $deadline, $wr) };
			print $wr "ok 0 err 1 died: $@\n" if $@;
			POSIX::_exit(0);
		}
		push @kids, $pid;
	}
	close $wr;
	return $rd;
}

sub collect {
	my ($rd) = @_;
	my ($good, $bad, @errs) = (0, 0);
	while (<$rd>) {
		my ($g, $b, $e) = /^ok (\d+) err (\d+) ?(.*)$/ or next;
		$good += $g;
		$bad += $b;
		push @errs, $e if $b;
	}
	waitpid($_, 0) for @kids;
	@kids = ();
	return ($good, $bad, @errs);
}

start_server("$B/tests/prom_render");
my $t0 = time;
my $deadline = $t0 + $WARM + $SECS;
my $rd = scrapers($SCRAPERS, $deadline, 0);
sleep($t0 + $WARM - time);
my $rss_warm = rss_kb();
my @samples;
while (time < $deadline - 0.5) {
	sleep 1;
	push @samples, rss_kb() // 0;
}
my $rss_end = rss_kb();
my ($good, $bad, @errs) = collect($rd);

ok($good > 0 && $bad == 0, "$SCRAPERS scrapers for $SECS s: $good complete 200 replies, $bad errors")
	or diag(@errs[0 .. ($#errs < 4 ? $#errs : 4)]);
diag(sprintf('%.0f scrapes/s', $good / ($WARM + $SECS)));
# Bodies in flight come and go (0.5 MB each), so compare ranges, not two
# points: the smallest of the last three readings against the largest of
# the warm-up and the first three.  A leak moves the whole range up.
my @early = grep { defined } ($rss_warm, @samples[0 .. 2]);
my @late = grep { defined } (@samples[-3 .. -1], $rss_end);
my ($emax) = sort { $b <=> $a } @early;
my ($lmin) = sort { $a <=> $b } @late;
ok(@samples >= 6 && defined $emax && defined $lmin && $lmin <= $emax + $RSS_SLACK_KB,
   "server RSS flat: at most ${\($emax // '?')} kB early, at least ${\($lmin // '?')} kB late (slack $RSS_SLACK_KB kB)")
	or diag("VmRSS after warm-up $rss_warm kB, then every second: @samples, at the end $rss_end");
diag("VmRSS kB: warm-up $rss_warm, then @samples, end $rss_end");

my ($rc, $st) = stop_server();
ok($rc == 0, 'server exits 0 on SIGTERM');
ok($st && $st =~ /, (\d+) scrapes, / && $1 >= $good, "status counts the scrapes: " . ($st // 'none') =~ s/\n//r);
ok($st && $st =~ /, errors 0,/, 'status: errors 0');

# Under ASan/LSan, with clients hanging up mid-body.
if (!-x "$B/asan/tests/prom_render") {
	ok(0, "$B/asan/tests/prom_render not built");
} else {
	my $log = "/tmp/prom_load_asan.$$";
	local $ENV{ASAN_OPTIONS} = "detect_leaks=1:log_path=$log";
	start_server("$B/asan/tests/prom_render");
	($good, $bad, @errs) = collect(scrapers(10, time + 3, 1));
	ok($good > 0 && $bad == 0, "ASan server: $good replies (a third cut short by the client), $bad errors")
		or diag(@errs[0 .. ($#errs < 4 ? $#errs : 4)]);
	($rc, $st) = stop_server();
	my @logs = glob("$log.*");
	my $report = join '', map { local (@ARGV, $/) = ($_); <> } @logs;
	unlink @logs;
	ok($rc == 0 && $report eq '', 'ASan server: exits 0, no leak, no error report')
		or diag("exit $rc", split /\n/, substr($report, 0, 3000));
}
print "1..$n\n";
exit($failed ? 1 : 0);
