#!/usr/bin/perl
# The control socket (src/ctl.c) through build/tests/ctl_echo, a server
# whose handler echoes the words it gets, and `latrack ctl` as the client:
# valid requests, malformed ones (empty, binary, too many words, oversized,
# unterminated), a client that says nothing (others still served), socket
# and directory modes, a non-root client (setpriv to nobody), stale and live
# socket files.  The malformed requests also run against the ASan/UBSan
# build of the server.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM SHUT_WR);
use Test::More;
use Time::HiRes qw(sleep time);

my $B = $ENV{LATRACK_BUILD} // 'build';
my $L = "$B/latrack";
my $ECHO = "$B/tests/ctl_echo";
my $ECHO_SAN = "$B/asan/tests/ctl_echo";
for ($L, $ECHO, $ECHO_SAN) {
	-x $_ or BAIL_OUT("$_ not built (make check builds it)");
}

# In /tmp whatever TMPDIR says: the client run as nobody must reach the socket.
my $D = tempdir('latrack-ctl-XXXXXX', DIR => '/tmp', CLEANUP => 1);
chmod 0755, $D;

# Start a server on $path; returns its pid and stdout handle.
sub server {
	my ($bin, $path, $errfile) = @_;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if (!$pid) {
		open(STDERR, '>', $errfile) or die if $errfile;
		exec($bin, $path) or die "exec $bin: $!";
	}
	my $line = <$fh> // '';
	return ($pid, $fh, $line);
}

sub stop {
	my ($pid, $fh) = @_;
	kill 'TERM', $pid;
	my @rest = <$fh>;
	close $fh;
	return ($? >> 8, join('', @rest));
}

# Send raw bytes on a new connection, optionally half-close, read the reply.
sub raw {
	my ($path, $bytes, %o) = @_;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
		or return "connect: $!";
	$s->send($bytes) if length $bytes;
	$s->shutdown(SHUT_WR) if $o{half_close};
	local $/;
	my $r = <$s>;
	close $s;
	return $r // '';
}

# `latrack ctl` with its exit status, stdout and stderr.
sub ctl {
	my @args = @_;
	my $out = "$D/ctl.out";
	my $err = "$D/ctl.err";
	system("@args >$out 2>$err");
	my $rc = $? >> 8;
	local $/;
	open(my $o, '<', $out) or die; my $so = <$o> // '';
	open(my $e, '<', $err) or die; my $se = <$e> // '';
	return ($rc, $so, $se);
}

# ---- modes, valid requests, latrack ctl -------------------------------------
my $sock = "$D/run/sub/ctl.sock";
my ($pid, $fh, $ready) = server($ECHO, $sock);
is($ready, "ready\n", 'echo server listening');
my @st = stat($sock);
ok(-S $sock, 'socket file created');
is(sprintf('%04o', $st[2] & 07777), '0600', 'socket mode 0600');
is(sprintf('%04o', (stat("$D/run"))[2] & 07777), '0700', 'created parent directory is 0700');
is(sprintf('%04o', (stat("$D/run/sub"))[2] & 07777), '0700', 'created directory of the socket is 0700');

my ($rc, $out, $err) = ctl($L, 'ctl', '-s', $sock, 'status');
is($rc, 0, 'latrack ctl status: exit 0 on ok');
is($out, "ok\nargc 1\nargv[0] status\n", 'status request arrives as one word; reply on stdout');

($rc, $out) = ctl($L, 'ctl', '-s', $sock, 'set', 'block', 'timeout', '2s');
is($out, "ok\nargc 4\nargv[0] set\nargv[1] block\nargv[2] timeout\nargv[3] 2s\n",
   'set block timeout 2s: four words');
($rc, $out) = ctl($L, 'ctl', "--socket=$sock", 'enable', 'syscall');
is($out, "ok\nargc 2\nargv[0] enable\nargv[1] syscall\n", 'enable syscall (--socket=)');
($rc, $out) = ctl($L, 'ctl', '-s', $sock, 'reset');
is($rc, 0, 'reset: exit 0');

($rc, $out, $err) = ctl($L, 'ctl', '-s', $sock, 'disable', 'irq');
is($rc, 1, 'error reply: exit 1');
is($err, "error: asked to fail\n", 'error reply printed on stderr');
is($out, '', '... and nothing on stdout');

# Usage errors never reach the server.
for my $bad (['bogus'], ['set', 'syscall', 'threshold'], ['set', 'nosuch', 'threshold', '5ms'],
	     ['set', 'syscall', 'threshold', '5parsecs'], ['set', 'net', 'timeout', '1s'],
	     ['set', 'syscall', 'color', 'red'], ['enable'], ['status', 'extra'], ['disable', 'x']) {
	($rc, $out, $err) = ctl($L, 'ctl', '-s', $sock, @$bad);
	ok($rc == 2 && $err =~ /latrack ctl: .*--help/, "usage error exits 2: ctl @$bad")
		or diag("rc $rc err $err");
}
($rc, $out) = ctl($L, 'ctl', '--help');
ok($rc == 0 && $out =~ /Examples:/ && $out =~ /set syscall threshold 5ms/, 'ctl --help has examples');

($rc, $out, $err) = ctl($L, 'ctl', '-s', "$D/nothing.sock", 'status');
is($rc, 3, 'no daemon: exit 3');
like($err, qr/no daemon listening on \Q$D\E\/nothing\.sock: start it with `latrack daemon`/,
     'no daemon: clear message');

# ---- malformed requests, against the plain and the ASan build -----------------
sub malformed {
	my ($path, $tag) = @_;
	is(raw($path, "hello \t world  again\n"), "ok\nargc 3\nargv[0] hello\nargv[1] world\nargv[2] again\n",
	   "$tag: blanks and tabs split words");
	is(raw($path, "status\r\n"), "ok\nargc 1\nargv[0] status\n", "$tag: CRLF accepted");
	is(raw($path, "\n"), "error: empty request\n", "$tag: empty line");
	is(raw($path, "  \t \n"), "error: empty request\n", "$tag: blank line");
	is(raw($path, '', half_close => 1), "error: empty request\n", "$tag: nothing, then EOF");
	is(raw($path, "status", half_close => 1), "error: request not terminated by a newline\n",
	   "$tag: no newline before EOF");
	for my $bin ("stat\x01us\n", "st\x00atus\n", "caf\xc3\xa9\n", "\xff\xfe\xfd\n", "a\x1b[2Jb\n") {
		(my $show = $bin) =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
		is(raw($path, $bin), "error: request has bytes outside printable ASCII\n",
		   "$tag: binary bytes refused ($show)");
	}
	my $max = 'x' x 1023;
	is(raw($path, "$max\n"), "ok\nargc 1\nargv[0] $max\n", "$tag: 1024 bytes with the newline: served");
	is(raw($path, 'x' x 1024 . "\n"), "error: request longer than 1024 bytes\n",
	   "$tag: 1025 bytes with the newline: refused");
	is(raw($path, 'y' x 100000 . "\n"), "error: request longer than 1024 bytes\n",
	   "$tag: 100 kB request refused, connection not reset");
	is(raw($path, join(' ', ('w') x 17) . "\n"), "error: too many words in the request (at most 16)\n",
	   "$tag: 17 words refused");
	is(raw($path, join(' ', ('w') x 16) . "\n") =~ /^ok\nargc 16\n/ ? 1 : 0, 1, "$tag: 16 words served");
	is(raw($path, "silent\n"), "error: no reply\n", "$tag: handler wrote nothing: the server says so");
	is(raw($path, "fail now\n"), "error: asked to fail\n", "$tag: handler's error reply");

	# A client that connects and says nothing: the server gives up on it
	# after 1 s and serves the next one.
	my $idle = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or die "connect: $!";
	my $t0 = time;
	is(raw($path, "after idle\n"), "ok\nargc 2\nargv[0] after\nargv[1] idle\n",
	   "$tag: next client served while one sits idle");
	my $waited = time - $t0;
	ok($waited < 5, sprintf("$tag: ... within %.2f s (limit 1 s per client)", $waited));
	my $r = do { local $/; <$idle> } // '';
	is($r, "error: no complete request line within 1 s\n", "$tag: the idle client got an error reply");
	close $idle;

	# A slow writer: half a request, then silence.
	my $slow = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or die;
	$slow->send('sta');
	$r = do { local $/; <$slow> } // '';
	is($r, "error: no complete request line within 1 s\n", "$tag: partial request times out");
	close $slow;
	is(raw($path, "still there\n") =~ /^ok\n/ ? 1 : 0, 1, "$tag: server alive after all of it");
}

malformed($sock, 'plain');
my ($code, $rest) = stop($pid, $fh);
is($code, 0, 'echo server exits 0 on SIGTERM');
like($rest, qr/^served \d+$/m, 'echo server counted its handler calls');
ok(!-e $sock, 'socket file removed at exit');

my $san_sock = "$D/san.sock";
my $san_err = "$D/san.err";
($pid, $fh, $ready) = server($ECHO_SAN, $san_sock, $san_err);
is($ready, "ready\n", 'ASan echo server listening');
malformed($san_sock, 'asan');
($code) = stop($pid, $fh);
is($code, 0, 'ASan echo server exits 0');
my $san_log = do { local $/; open(my $f, '<', $san_err) or die; <$f> } // '';
unlike($san_log, qr/ERROR: (Address|Leak)Sanitizer|runtime error/, 'no ASan/UBSan report') or diag($san_log);

# ---- non-root clients ---------------------------------------------------------
SKIP: {
	skip('needs root to run a client as nobody', 6) if $> != 0;
	my $setpriv = `sh -c 'command -v setpriv'`;
	chomp $setpriv;
	ok($setpriv, 'setpriv available (util-linux)') or skip('no setpriv', 5);
	my @nobody = ($setpriv, '--reuid=65534', '--regid=65534', '--clear-groups');
	my $dir = "$D/pub";
	mkdir $dir, 0755 or die;
	chmod 0755, $dir;
	my $nsock = "$dir/ctl.sock";
	($pid, $fh, $ready) = server($ECHO, $nsock);

	($rc, $out, $err) = ctl(@nobody, $L, 'ctl', '-s', $nsock, 'status');
	ok($rc == 3 && $err =~ /permission denied \(the control socket is root-only/,
	   'nobody: the 0600 socket refuses the connection (exit 3, clear message)') or diag("rc $rc: $err");

	# Past the file mode (as if it were loosened), the server checks the
	# peer's credentials itself.
	chmod 0666, $nsock;
	($rc, $out, $err) = ctl(@nobody, $L, 'ctl', '-s', $nsock, 'status');
	is($rc, 1, 'nobody on a 0666 socket: error reply (exit 1)');
	is($err, "error: permission denied\n", 'nobody: "error: permission denied" from SO_PEERCRED');
	($rc, $out) = ctl(@nobody, 'perl', '-MIO::Socket::UNIX', '-e',
			  "'my \$s = IO::Socket::UNIX->new(Peer => q($nsock)) or die; print \$s qq(status\\n); print <\$s>'");
	is($out, "error: permission denied\n", 'nobody, raw request: refused');
	($rc, $out) = ctl($L, 'ctl', '-s', $nsock, 'status');
	is($out, "ok\nargc 1\nargv[0] status\n", 'root still served');
	my ($c2, $rest2) = stop($pid, $fh);
	is($rest2, "served 1\n", 'the handler never ran for nobody');
}

# ---- stale and live socket files ------------------------------------------------
my $ssock = "$D/stale.sock";
($pid, $fh, $ready) = server($ECHO, $ssock);
my ($pid2, $fh2, $ready2) = server($ECHO, $ssock, "$D/second.err");
is($ready2, '', 'a second server on a live socket does not start');
close $fh2;
my $second = do { local $/; open(my $f, '<', "$D/second.err") or die; <$f> };
like($second, qr/another daemon is listening on \Q$ssock\E/, '... saying another daemon is listening');
is(raw($ssock, "first\n"), "ok\nargc 1\nargv[0] first\n", 'the first server still serves');
kill 'KILL', $pid;
close $fh;
ok(-S $ssock, 'SIGKILL leaves a stale socket file');
($rc) = ctl($L, 'ctl', '-s', $ssock, 'status');
is($rc, 3, 'latrack ctl on the stale socket: no daemon (exit 3)');
($pid, $fh, $ready) = server($ECHO, $ssock);
is($ready, "ready\n", 'a new server replaces the stale socket');
is(raw($ssock, "second\n"), "ok\nargc 1\nargv[0] second\n", '... and serves');
stop($pid, $fh);

open(my $reg, '>', "$D/regular") or die;
close $reg;
($pid, $fh, $ready) = server($ECHO, "$D/regular", "$D/regular.err");
close $fh;
my $regerr = do { local $/; open(my $f, '<', "$D/regular.err") or die; <$f> };
like($regerr, qr/exists and is not a socket/, 'a regular file at the path is not replaced');
ok(-f "$D/regular", '... and is left alone');

done_testing();
