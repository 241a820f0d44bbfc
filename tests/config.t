#!/usr/bin/perl
# latrack config (src/config.c): defaults, precedence of the system file,
# the user file (HOME or XDG_CONFIG_HOME), -c FILE and --set; value
# syntax; the printed configuration read back by -c; every kind of error
# with its file and line.  Expected values are written here from the
# inputs, never taken from the program.
use strict;
use warnings;
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Test::More;

my $B = $ENV{LATRACK_BUILD} // 'build';
my $L = "$B/latrack";
-x $L or BAIL_OUT("$L not built");

my $D = tempdir('latrack-config-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $SYS = "$D/etc/latrack.conf";
my $HOME = "$D/home";
my $USER = "$HOME/.config/latrack/latrack.conf";
my $XDG = "$D/xdg";
make_path("$D/etc", "$HOME/.config/latrack", "$XDG/latrack");

sub write_file {
	my ($path, @lines) = @_;
	open(my $f, '>', $path) or die "$path: $!";
	print $f map { "$_\n" } @lines;
	close $f;
}

# Run latrack config with a clean environment; returns (exit, stdout, stderr).
sub run_config {
	my ($env, @args) = @_;
	my %e = (LATRACK_SYSCONF => "$D/absent.conf", HOME => "$D/nohome", %{ $env // {} });
	local %ENV = (PATH => $ENV{PATH});
	$ENV{$_} = $e{$_} for grep { defined $e{$_} } keys %e;
	my $pid = open(my $fh, '-|') // die;
	if (!$pid) {
		open(STDERR, '>', "$D/stderr") or die;
		exec($L, 'config', @args) or die;
	}
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	my $rc = $? >> 8;
	my $err = do { local $/; open(my $f, '<', "$D/stderr") or die; <$f> } // '';
	return ($rc, $out, $err);
}

# "section.key" => [value, origin]
sub parse {
	my ($out) = @_;
	my (%v, $sec);
	for (split /\n/, $out) {
		next if /^;/ || /^\s*$/;
		if (/^\[(\w+)\]$/) { $sec = $1; next; }
		/^(\w+) = (.*?)\s*; (.*)$/ or die "unexpected line '$_'";
		$v{"$sec.$1"} = [$2, $3];
	}
	return \%v;
}

sub config_ok {
	my ($env, @args) = @_;
	my ($rc, $out, $err) = run_config($env, @args);
	is($rc, 0, "latrack config @args: exit 0") or diag($err);
	return parse($out);
}

# Check value and origin of several keys.
sub expect {
	my ($cfg, $what, %exp) = @_;
	for my $k (sort keys %exp) {
		my ($v, $o) = @{ $exp{$k} };
		my $got = $cfg->{$k} // ['(missing)', '(missing)'];
		is("$got->[0] ; $got->[1]", "$v ; $o", "$what: $k");
	}
}

# ---- defaults -----------------------------------------------------------------
my $c = config_ok({});
(my $host = `hostname`) =~ s/\s+$//;
$host =~ s/[^A-Za-z0-9-]/_/g;
expect($c, 'defaults',
	'daemon.tick' => ['1s', 'default'], 'daemon.socket' => ['/run/latrack/latrack.sock', 'default'],
	'daemon.max_classes' => ['0', 'default'], 'daemon.ringbuf' => ['1M', 'default'],
	'daemon.classes' => ['4096', 'default'], 'daemon.window_memory' => ['128M', 'default'],
	'daemon.change_detection' => ['true', 'default'], 'daemon.class_idle' => ['60s', 'default'],
	'syscall.enabled' => ['true', 'default'], 'syscall.threshold' => ['10ms', 'default'],
	'syscall.timeout' => ['1s', 'default'], 'wakeup.threshold' => ['5ms', 'default'],
	'wakeup.timeout' => ['0', 'default'], 'offcpu.threshold' => ['1s', 'default'],
	'block.threshold' => ['10ms', 'default'], 'block.timeout' => ['5s', 'default'],
	'irq.threshold' => ['1ms', 'default'], 'net.threshold' => ['10ms', 'default'],
	'net.timeout' => ['0', 'default'], 'syscall.pid' => ['0', 'default'], 'syscall.comm' => ['', 'default'],
	'syscall.cgroup' => ['', 'default'],
	'prometheus.enabled' => ['true', 'default'], 'prometheus.listen' => ['127.0.0.1:9464', 'default'],
	'prometheus.buckets' => ['pow2', 'default'], 'prometheus.max_series' => ['200', 'default'],
	'graphite.enabled' => ['false', 'default'], 'graphite.host' => ['127.0.0.1', 'default'],
	'graphite.port' => ['2003', 'default'], 'graphite.prefix' => ["latrack.$host", 'default'],
	'graphite.interval' => ['10s', 'default'], 'graphite.queue' => ['100000', 'default'],
	'json.enabled' => ['false', 'default'], 'json.path' => ['-', 'default'],
	'json.max_size' => ['100M', 'default'], 'json.keep' => ['5', 'default']);
is(scalar(keys %$c), 8 + 6 * 7 + 4 + 6 + 4, 'every key printed once (64)');

# ---- precedence -----------------------------------------------------------------
write_file($SYS,
	'; system file',              # 1
	'[syscall]',                  # 2
	'threshold = 20ms',           # 3
	'[block]',                    # 4
	'threshold = 30ms',           # 5
	'timeout = 2s',               # 6
	'[prometheus]',               # 7
	'listen = 127.0.0.1:9100');   # 8
write_file($USER,
	'[syscall]',                  # 1
	'threshold = 15ms',           # 2
	'[block]',                    # 3
	'# user comment',             # 4
	'timeout = 3s');              # 5
my %sys = (LATRACK_SYSCONF => $SYS);
my %both = (LATRACK_SYSCONF => $SYS, HOME => $HOME);

$c = config_ok(\%sys);
expect($c, 'system file only',
	'syscall.threshold' => ['20ms', "$SYS:3"], 'block.threshold' => ['30ms', "$SYS:5"],
	'block.timeout' => ['2s', "$SYS:6"], 'prometheus.listen' => ['127.0.0.1:9100', "$SYS:8"],
	'wakeup.threshold' => ['5ms', 'default']);

$c = config_ok({ HOME => $HOME });
expect($c, 'user file only', 'syscall.threshold' => ['15ms', "$USER:2"], 'block.timeout' => ['3s', "$USER:5"],
	'block.threshold' => ['10ms', 'default']);

$c = config_ok(\%both);
expect($c, 'user file over system file',
	'syscall.threshold' => ['15ms', "$USER:2"], 'block.timeout' => ['3s', "$USER:5"],
	'block.threshold' => ['30ms', "$SYS:5"], 'prometheus.listen' => ['127.0.0.1:9100', "$SYS:8"]);

$c = config_ok(\%both, '--set', 'syscall.threshold=2ms', '--set', 'block.timeout=4s', '--set=block.timeout=6s');
expect($c, '--set over both files, last --set wins',
	'syscall.threshold' => ['2ms', '--set syscall.threshold=2ms'],
	'block.timeout' => ['6s', '--set block.timeout=6s'], 'block.threshold' => ['30ms', "$SYS:5"]);

write_file("$XDG/latrack/latrack.conf", '[syscall]', '', 'threshold = 12ms');
$c = config_ok({ %both, XDG_CONFIG_HOME => $XDG });
expect($c, 'XDG_CONFIG_HOME replaces ~/.config',
	'syscall.threshold' => ['12ms', "$XDG/latrack/latrack.conf:3"], 'block.timeout' => ['2s', "$SYS:6"]);

my $CF = "$D/cmdline.conf";
write_file($CF, '[syscall]', 'timeout = 9s', '[json]', 'enabled = yes', 'path = /var/log/latrack.json');
$c = config_ok(\%both, '-c', $CF);
expect($c, '-c FILE instead of the system and user files',
	'syscall.timeout' => ['9s', "$CF:2"], 'json.enabled' => ['true', "$CF:4"],
	'json.path' => ['/var/log/latrack.json', "$CF:5"], 'syscall.threshold' => ['10ms', 'default'],
	'block.threshold' => ['10ms', 'default'], 'prometheus.listen' => ['127.0.0.1:9464', 'default']);
$c = config_ok(\%both, '--config', $CF, '--set', 'syscall.timeout=0');
expect($c, '--set over -c', 'syscall.timeout' => ['0', '--set syscall.timeout=0']);

{
	my ($rc0, $o) = run_config(\%both);
	like($o, qr/^; system file: \Q$SYS\E \(read\)\n; user file: \Q$USER\E \(read\)$/m, 'the header names the files read');
	($rc0, $o) = run_config({});
	like($o, qr/^; system file: \Q$D\E\/absent\.conf \(absent\)$/m, '... and the absent ones');
	($rc0, $o) = run_config(\%both, '-c', $CF);
	like($o, qr/^; read: \Q$CF\E \(-c\)$/m, '... or the -c file alone');
}
my ($rc, $out, $err) = run_config(\%both, '-c', "$D/missing.conf");
is($rc, 2, '-c on a missing file: exit 2');
like($err, qr/\Q$D\E\/missing\.conf: No such file or directory/, '... naming the file');

# ---- value syntax ---------------------------------------------------------------------
my $VF = "$D/values.conf";
write_file($VF,
	'[daemon]', 'tick = 2', 'ringbuf = 64K', 'window_memory = 1G', 'change_detection = off',
	'max_classes = 512', 'socket = /tmp/x y.sock',
	'[syscall]', 'threshold = 7', 'timeout = 1.5', 'comm = mysqld ; inline comment',
	'  pid = 42', 'tid=43', 'enabled = No',
	'[wakeup]', 'threshold = 250us', 'enabled = 0',
	'[offcpu]', 'threshold = 2m', 'cgroup = /sys/fs/cgroup/system.slice',
	'[block]', 'timeout = 0', 'threshold = 1.5ms',
	'[irq]', 'threshold = 1500ns', 'enabled = TRUE',
	'[prometheus]', 'buckets = 32ns, 1.024us,1.048576ms , 1.073741824s', 'enabled = 1', 'listen = [::1]:9464',
	'max_series = 7',
	'[graphite]', 'enabled = on', 'port = 2004', 'prefix = dc1.web-3', 'interval = 20', 'queue = 10',
	'host = carbon.example.org',
	'[json]', 'max_size = 1048576', 'keep = 0', 'path = /tmp/lt.json');
$c = config_ok({}, '-c', $VF);
my %vals = (
	'daemon.tick' => '2s', 'daemon.ringbuf' => '64K', 'daemon.window_memory' => '1G',
	'daemon.change_detection' => 'false', 'daemon.max_classes' => '512', 'daemon.socket' => '/tmp/x y.sock',
	'syscall.threshold' => '7ms', 'syscall.timeout' => '1.5s', 'syscall.comm' => 'mysqld',
	'syscall.pid' => '42', 'syscall.tid' => '43', 'syscall.enabled' => 'false',
	'wakeup.threshold' => '250us', 'wakeup.enabled' => 'false', 'offcpu.threshold' => '120s',
	'offcpu.cgroup' => '/sys/fs/cgroup/system.slice', 'block.timeout' => '0', 'block.threshold' => '1.5ms',
	'irq.threshold' => '1.5us', 'irq.enabled' => 'true',
	'prometheus.buckets' => '32ns,1.024us,1.048576ms,1.073741824s', 'prometheus.enabled' => 'true',
	'prometheus.listen' => '[::1]:9464', 'prometheus.max_series' => '7',
	'graphite.enabled' => 'true', 'graphite.port' => '2004', 'graphite.prefix' => 'dc1.web-3',
	'graphite.interval' => '20s', 'graphite.queue' => '10', 'graphite.host' => 'carbon.example.org',
	'json.max_size' => '1M', 'json.keep' => '0', 'json.path' => '/tmp/lt.json');
for my $k (sort keys %vals) {
	is($c->{$k}[0], $vals{$k}, "value syntax: $k = $vals{$k}");
}
is($c->{'syscall.pid'}[1], "$VF:12", 'an indented line is a key, not a continuation (its own line number)');

# ---- round trip -------------------------------------------------------------------------
($rc, $out) = run_config({}, '-c', $VF, '--set', 'net.comm=x', '--set', 'offcpu.enabled=true',
			 '--set', 'wakeup.cgroup=/sys/fs/cgroup/system.slice');
is($rc, 0, 'configuration with many changes printed');
my $first = parse($out);
my $RT = "$D/roundtrip.conf";
open(my $rt, '>', $RT) or die;
print $rt $out;
close $rt;
my @rtlines = split /\n/, $out;
my $second = config_ok({}, '-c', $RT);
is_deeply([map { $second->{$_}[0] } sort keys %$second], [map { $first->{$_}[0] } sort keys %$first],
	  'config output read back with -c: the same values');
is(scalar(keys %$second), 64, "... all 64 keys");
my $bad_origin = 0;
for my $k (sort keys %$second) {
	my ($file, $line) = $second->{$k}[1] =~ /^(.*):(\d+)$/ or do { $bad_origin++; next };
	my ($key) = $k =~ /\.(\w+)$/;
	$bad_origin++ unless $file eq $RT && $rtlines[$line - 1] =~ /^\Q$key\E = /;
}
is($bad_origin, 0, '... every value attributed to its own line of the file read back');
my ($rc2, $out2) = run_config({}, '-c', $RT);
my ($rc3, $out3) = run_config({}, '-c', $RT, '--set', 'json.keep=0');
is($out3, $out2 =~ s/(keep = 0\s*); \S+/$1; --set json.keep=0/r, 'only the origin changes when --set repeats a value');

# ---- errors with file and line ------------------------------------------------------------
my $EF = "$D/err.conf";
my @errors = (
	# [lines], line of the error, message pattern
	[['[daemon]', 'tick = 1s', '[bogus]', 'x = 1'], 3, qr/unknown section \[bogus\] \(sections: daemon, syscall/],
	[['[syscall]', '', '[nosuch]'], 3, qr/unknown section \[nosuch\]/],
	[['[syscall]', 'threshold = 1ms', 'treshold = 2ms'], 3,
	 qr/\[syscall\] unknown key 'treshold' \(keys: enabled, threshold, timeout, pid, tid, comm, cgroup\)/],
	[['[syscall]', '; c', '', 'threshold = 10 parsecs'], 4,
	 qr/\[syscall\] threshold: bad duration '10 parsecs' \(e\.g\. 10ms, 500us, 1s/],
	[['[block]', 'timeout = -1s'], 2, qr/\[block\] timeout: bad duration '-1s'/],
	[['[json]', 'enabled = maybe'], 2, qr/\[json\] enabled: bad boolean 'maybe' \(true\/false, yes\/no, on\/off, 1\/0\)/],
	[['[prometheus]', 'enabled = true', 'buckets = 1.024us,1ms'], 3,
	 qr/\[prometheus\] buckets: bucket '1ms' is not an edge of the internal histogram; nearest edges: 999\.424us and 1\.015808ms/],
	[['[prometheus]', 'buckets = 2.048us,1.024us'], 2, qr/buckets must be ascending/],
	[['[prometheus]', 'buckets = fast'], 2, qr/bad bucket 'fast'/],
	[['[prometheus]', 'listen = localhost:9464'], 2, qr/\[prometheus\] listen: bad listen address 'localhost:9464'/],
	[['[prometheus]', 'listen = 127.0.0.1'], 2, qr/bad listen address '127\.0\.0\.1'/],
	[['[prometheus]', 'listen = 127.0.0.1:99999'], 2, qr/bad listen address/],
	[['[prometheus]', 'listen = ::1:9464'], 2, qr/bad listen address '::1:9464'/],
	[['[net]', 'timeout = 1s'], 2, qr/\[net\] timeout: must be 0: only syscall and block have timeouts/],
	[['[wakeup]', 'timeout = 5'], 2, qr/\[wakeup\] timeout: must be 0/],
	[['[daemon]', 'ringbuf = 3M'], 2, qr/\[daemon\] ringbuf: '3M' must be a power of 2/],
	[['[daemon]', 'window_memory = 12X'], 2, qr/\[daemon\] window_memory: bad size '12X'/],
	[['[graphite]', 'port = 0'], 2, qr/\[graphite\] port: bad port '0'/],
	[['[graphite]', 'prefix = a b'], 2, qr/\[graphite\] prefix: bad prefix 'a b'/],
	[['[syscall]', 'pid = 12abc'], 2, qr/\[syscall\] pid: bad number '12abc'/],
	[['[syscall]', 'comm = a_very_long_process_name'], 2, qr/\[syscall\] comm: .* too long \(at most 15 bytes/],
	[['tick = 1s'], 1, qr/'tick' outside a section/],
	[['[syscall]', 'threshold 10ms'], 2, qr/syntax error/],
	[['[syscall', 'threshold = 1ms'], 1, qr/section header without '\]'/],
	[['[wakeup]', 'pid = 5', '[offcpu]', 'pid = 6'], 4,
	 qr/\[wakeup\] pid '5' \(.*:2\) and \[offcpu\] pid '6' \(.*:4\) differ, but the two trackers share one BPF object/],
	[['[daemon]', 'tick = 2s', '[graphite]', 'enabled = true', 'interval = 3s'], 5,
	 qr/\[graphite\] interval 3s is not a multiple of \[daemon\] tick 2s/],
	[['[graphite]', 'enabled = true', 'interval = 2500ms'], 3,
	 qr/\[graphite\] interval 2\.5s is not a whole number of seconds/],
);
for my $e (@errors) {
	my ($lines, $lineno, $re) = @$e;
	write_file($EF, @$lines);
	($rc, $out, $err) = run_config({}, '-c', $EF);
	my $what = $lines->[$lineno - 1];
	is($rc, 2, "error exits 2: '$what'");
	like($err, qr/^latrack config: \Q$EF\E:$lineno: /, "... names $EF:$lineno") or diag($err);
	like($err, $re, '... and says what is wrong') or diag($err);
	is($out, '', '... and prints no configuration');
}
# Cross-section rules hold only when they apply.
write_file($EF, '[wakeup]', 'pid = 5', '[offcpu]', 'enabled = false');
config_ok({}, '-c', $EF);
write_file($EF, '[daemon]', 'tick = 500ms', '[graphite]', 'enabled = true', 'interval = 3s');
$c = config_ok({}, '-c', $EF);
is($c->{'graphite.interval'}[0], '3s', 'graphite interval 3s, a multiple of a 500ms tick: accepted');
write_file($EF, '[graphite]', 'interval = 2500ms');
$c = config_ok({}, '-c', $EF);
is($c->{'graphite.interval'}[0], '2.5s', 'graphite disabled: its interval is not checked');

# Errors in the system and the user file name that file.
write_file($SYS, '[syscall]', 'threshold = 1ms', 'enabled = sometimes');
($rc, $out, $err) = run_config(\%both);
ok($rc == 2 && $err =~ /^latrack config: \Q$SYS\E:3: \[syscall\] enabled: bad boolean/, 'error in the system file') or diag($err);
write_file($SYS, '[syscall]');
write_file($USER, '', '[irq]', 'threshold = soon');
($rc, $out, $err) = run_config(\%both);
ok($rc == 2 && $err =~ /^latrack config: \Q$USER\E:3: \[irq\] threshold: bad duration 'soon'/, 'error in the user file')
	or diag($err);

for my $s (['syscall.threshold=10 parsecs', qr/^latrack config: --set syscall\.threshold=10 parsecs: \[syscall\] threshold: bad duration '10 parsecs'/],
	   ['nosuch.key=1', qr/^latrack config: --set nosuch\.key=1: unknown section \[nosuch\]/],
	   ['syscall.color=red', qr/^latrack config: --set syscall\.color=red: \[syscall\] unknown key 'color'/],
	   ['syscall.threshold', qr/^latrack config: --set syscall\.threshold: expected SECTION\.KEY=VALUE/],
	   ['prometheus.buckets=1ms', qr/--set prometheus\.buckets=1ms: .*nearest edges: 999\.424us and 1\.015808ms/],
	   ['prometheus.listen=[::1]', qr/--set prometheus\.listen=\[::1\]: .*bad listen address/],
	   ['json.enabled=perhaps', qr/--set json\.enabled=perhaps: \[json\] enabled: bad boolean/],
	   ['wakeup.comm=x', qr/^latrack config: --set wakeup\.comm=x: \[wakeup\] comm 'x' .* and \[offcpu\] comm '' \(default\) differ/]) {
	($rc, $out, $err) = run_config({}, '--set', $s->[0]);
	ok($rc == 2 && $err =~ $s->[1], "--set $s->[0]: exit 2 with the --set named") or diag($err);
}

($rc, $out) = run_config({}, '--help');
ok($rc == 0 && $out =~ /later ones win/ && $out =~ /\[prometheus\]/ && $out =~ /Examples:/ && $out =~ /--set syscall\.threshold=5ms/,
   'config --help explains sources, sections and gives examples');
($rc, $out, $err) = run_config({}, '--frobnicate');
ok($rc == 2 && $err =~ /unknown argument/, 'unknown argument: exit 2');

# Under valgrind: no invalid access, no leak, on success and on errors.
SKIP: {
	skip('valgrind not installed', 2) unless `sh -c 'command -v valgrind'`;
	for my $case ([0, '-c', $VF, '--set', 'json.keep=3'], [2, '-c', $EF, '--set', 'wakeup.comm=x']) {
		my ($want, @args) = @$case;
		my $pid = fork // die;
		if (!$pid) {
			open(STDOUT, '>', '/dev/null');
			open(STDERR, '>', "$D/vg.err");
			$ENV{LATRACK_SYSCONF} = "$D/absent.conf";
			$ENV{HOME} = "$D/nohome";
			exec('valgrind', '-q', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
			     '--error-exitcode=9', $L, 'config', @args) or die;
		}
		waitpid $pid, 0;
		is($? >> 8, $want, "valgrind clean: latrack config @args") or diag(`cat $D/vg.err`);
	}
}

# The shipped example: as installed (every key commented out) it changes
# nothing; with every key uncommented it holds the defaults (except the
# two whose default depends on the host: net.enabled, graphite.prefix).
SKIP: {
	my $ex = 'dist/latrack.conf';
	skip('run from the source tree', 6) unless -r $ex;
	my $dflt = config_ok({});
	my $as_is = config_ok({}, '-c', $ex);
	is(scalar(grep { $as_is->{$_}[1] ne 'default' } keys %$as_is), 0, 'dist/latrack.conf as shipped: all defaults');
	open(my $in, '<', $ex) or die;
	my @lines = map { s/^#(\w+ =)/$1/r } <$in>;
	close $in;
	my $n = grep { /^\w+ =/ } @lines;
	is($n, 64, 'dist/latrack.conf shows every key (64)');
	open(my $o, '>', "$D/uncommented.conf") or die;
	print $o @lines;
	close $o;
	my $un = config_ok({}, '-c', "$D/uncommented.conf");
	my @skip = ('net.enabled', 'graphite.prefix');
	is_deeply([map { "$_=$un->{$_}[0]" } grep { my $k = $_; !grep { $_ eq $k } @skip } sort keys %$un],
		  [map { "$_=$dflt->{$_}[0]" } grep { my $k = $_; !grep { $_ eq $k } @skip } sort keys %$dflt],
		  'dist/latrack.conf uncommented: the defaults');
	is(scalar(grep { $un->{$_}[1] eq 'default' } keys %$un), 0, '... every value read from the file');
}

# The systemd unit: what the daemon needs to run and be controlled.
SKIP: {
	my $u = 'dist/latrack.service';
	skip('run from the source tree', 1) unless -r $u;
	my $unit = do { local $/; open(my $f, '<', $u) or die; <$f> };
	my @missing = grep { $unit !~ /^\Q$_\E/m } ('Type=simple', 'ExecStart=/usr/local/bin/latrack daemon',
		'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'RuntimeDirectory=latrack',
		'RuntimeDirectoryMode=0700', 'NoNewPrivileges=yes', 'WantedBy=multi-user.target');
	my ($caps) = $unit =~ /^CapabilityBoundingSet=(.*)$/m;
	push @missing, grep { ($caps // '') !~ /\b$_\b/ } qw(CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE CAP_SYS_ADMIN);
	is("@missing", '', 'dist/latrack.service: type, commands, runtime directory, capabilities for BPF');
}

done_testing();
