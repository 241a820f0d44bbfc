#!/usr/bin/perl
# Storm: threshold 0 on a tight syscall loop, a 64 KiB ring buffer (~55
# outliers).  The ring buffer overflows;
# every sample is either delivered or counted as lost (outliers + ringbuf
# losses = calls), the histogram still counts every call, memory stays
# bounded, and the program exits cleanly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/bpf";
use LtTest;
use Test::More;

require_bpf();

my $N = 200000;
my $w = workload('loop', $N);
my $l = latrack_start('-T', 'syscall', '--json', '-p', $w->{pid}, '-m', '0', '--ringbuf', '64');
go_and_wait($w);
my $hwm = 0;
if (open my $st, '<', "/proc/$l->{pid}/status") {
	while (<$st>) { $hwm = $1 if /^VmHWM:\s+(\d+) kB/ }
}
my ($rc, $objs, $err) = latrack_stop($l, settle => 1, count_outliers_after => 2000);
is($rc, 0, 'exits 0 on SIGINT after the storm') or diag($err);
is(scalar(of_type($objs, 'INVALID')), 0, 'JSON lines (the first 2000 and the summaries decoded)');
my @out = of_type($objs, 'outlier', class => 'getppid');
my ($loss) = of_type($objs, 'loss', final => JSON::PP::true);
my $lost = $loss->{syscall}{ringbuf} // -1;
my ($cls) = grep { $_->{class} eq 'getppid' } of_type($objs, 'summary', final => JSON::PP::true);
is($cls && $cls->{count}, $N, "histogram counts all $N calls");
ok($lost > 0, 'the ring buffer overflowed and the loss is reported') or diag("lost $lost");
# every syscall of the process (not only getppid) is an outlier at threshold 0
my $calls = 0;
$calls += $_->{count} for of_type($objs, 'summary', final => JSON::PP::true);
my $delivered = scalar(of_type($objs, 'outlier'));
is($delivered + $lost, $calls, 'outliers delivered + ring-buffer losses = syscalls counted: nothing lost silently')
	or diag("$delivered delivered, $lost lost, $calls counted");
ok(@out > 0 && @out < $N, 'getppid outliers: some delivered, the rest lost') or diag(scalar @out);
is($loss->{syscall}{inflight_full}, 0, 'no in-flight map overflow');
ok($hwm > 0 && $hwm < 100 * 1024, "bounded memory: peak RSS ${\ int($hwm / 1024)} MiB < 100 MiB");
done_testing();
