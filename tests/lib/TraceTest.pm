# TAP helpers shared by the trace tests (tests/trace_*.t): loud skips
# (a failure under LATRACK_REQUIRE_BPF=1, as CI sets), ok/is/near/diag, the
# paths of the latrack binary and of the shared traces, and the closing plan.
package TraceTest;
use strict;
use warnings;
use File::Basename;
use Exporter 'import';
our @EXPORT = qw(skip_all ok is near diag finish thread_event $build $latrack $traces);

our $build = $ENV{LATRACK_BUILD} // dirname(__FILE__) . '/../../build';
our $latrack = "$build/latrack";
our $traces = $ENV{LATRACK_TRACES} // dirname(__FILE__) . '/../../../shared/traces';
$traces = '/work/shared/traces' unless -d $traces;

my ($n, $failed) = (0, 0);

sub skip_all {
	my ($why) = @_;
	if (($ENV{LATRACK_REQUIRE_BPF} // '') eq '1') {
		print "not ok 1 - required: $why\n1..1\n";
		exit 1;
	}
	print "1..0 # SKIP $why\n";
	exit 0;
}

# The independent model of who runs where, from one babeltrace2 text
# event (name, cpu_id, payload): the current tid per CPU, each thread's
# comm and pid, from sched_switch, wake-ups, the statedump, fork and exec.
# Returns true when the event was one of those.
sub thread_event {
	my ($ev, $cpu, $f, $cur, $comm, $pid) = @_;
	if ($ev eq 'sched_switch') {
		my ($pt, $pc) = $f =~ /prev_comm = "(.*?)", prev_tid = (\d+)/ ? ($2, $1) : ();
		my ($nc, $nt) = $f =~ /next_comm = "(.*?)", next_tid = (\d+)/;
		$comm->{$pt} = $pc if defined $pt;
		$comm->{$nt} = $nc;
		$cur->{$cpu} = $nt;
	} elsif ($ev =~ /^sched_wak(?:ing|eup|eup_new)$/) {
		my ($c, $t) = $f =~ /comm = "(.*?)", tid = (\d+)/;
		$comm->{$t} = $c if defined $t;
	} elsif ($ev eq 'lttng_statedump_process_state') {
		my ($t) = $f =~ /\btid = (\d+)/;
		my ($p) = $f =~ /\bpid = (\d+)/;
		my ($c) = $f =~ /name = "(.*?)"/;
		$comm->{$t} = $c; $pid->{$t} = $p;
	} elsif ($ev eq 'sched_process_fork') {
		my ($c) = $f =~ /child_comm = "(.*?)"/;
		my ($t) = $f =~ /child_tid = (\d+)/;
		my ($p) = $f =~ /child_pid = (\d+)/;
		$comm->{$t} = $c; $pid->{$t} = $p;
	} elsif ($ev eq 'sched_process_exec') {
		my ($file, $t) = $f =~ /filename = "(.*?)", tid = (\d+)/;
		(my $b = $file) =~ s{.*/}{};
		$comm->{$t} = substr($b, 0, 15);
	} else {
		return 0;
	}
	return 1;
}

sub diag { print map { "# $_\n" } @_; }

sub ok {
	my ($c, $name) = @_;
	$n++;
	$failed++ unless $c;
	print(($c ? "ok" : "not ok") . " $n - $name\n");
	return $c;
}

sub is {
	my ($got, $want, $name) = @_;
	my $c = defined $got && defined $want && $got eq $want;
	ok($c, $name) or diag("  got " . ($got // 'undef') . ", want " . ($want // 'undef'));
	return $c;
}

sub near {
	my ($got, $want, $tol, $name) = @_;
	my $c = defined $got && abs($got - $want) <= $tol;
	ok($c, $name) or diag("  got " . ($got // 'undef') . ", want $want (+-$tol)");
	return $c;
}

# The plan, and the exit code prove reads.
sub finish {
	print "1..$n\n";
	exit($failed ? 1 : 0);
}

1;
