/* The daemon's control socket (src/ctl.h): server and client.
 *
 * The server is single-threaded and serves one client at a time from the
 * daemon's poll loop.  A client gets at most CTL_IO_MS to send its request
 * and CTL_IO_MS to take the reply, so one that connects and says nothing
 * delays the others by a second, never blocks them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define CTL_IO_MS     1000  /* request in, reply out: each within this */
#define STR_(x) #x
#define STR(x)  STR_(x)
#define TOO_LONG "request longer than " STR(CTL_MAX_REQUEST) " bytes"
#define CTL_CLIENT_MS 10000 /* the client waits this long for a reply */

struct ctl_server {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

/* Create the missing directories above path, mode 0700. */
static int make_parents(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

struct ctl_server *ctl_server__new(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a;
	struct ctl_server *s;
	struct stat st;
	mode_t old;
	int r;

	if (fill_addr(&a, path)) {
		snprintf(err, errlen, "control socket path '%s' is empty or longer than %zu bytes", path,
			 sizeof(a.sun_path) - 1);
		return NULL;
	}
	r = make_parents(path);
	if (r) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(-r));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->fd = -1;
	if (!lstat(path, &st)) {
		int c;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket: remove it or choose another path",
				 path);
			goto fail;
		}
		/* A live daemon answers; a dead one's file refuses. */
		c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			goto fail;
		}
		if (!connect(c, (struct sockaddr *)&a, sizeof(a))) {
			close(c);
			snprintf(err, errlen, "another daemon is listening on %s", path);
			goto fail;
		}
		r = errno;
		close(c);
		if (r == ECONNREFUSED) {
			if (unlink(path) && errno != ENOENT) {
				snprintf(err, errlen, "cannot remove the stale socket %s: %s", path,
					 strerror(errno));
				goto fail;
			}
		} else if (r != ENOENT) {
			snprintf(err, errlen, "%s exists and cannot be checked: %s", path, strerror(r));
			goto fail;
		}
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* Born 0600: no window in which others could connect. */
	old = umask(0177);
	r = bind(s->fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r) {
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (chmod(path, 0600) || listen(s->fd, 16)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

void ctl_server__destroy(struct ctl_server *s)
{
	if (!s)
		return;
	close(s->fd);
	unlink(s->path);
	free(s);
}

int ctl_server__fd(const struct ctl_server *s)
{
	return s->fd;
}

/* Write all of buf before the deadline; -1 on error or timeout. */
static int write_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int64_t left = deadline - now_ms();

			if (left <= 0 || poll(&p, 1, (int)left) <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Read one request line into buf (NUL-terminated, newline removed).
 * Returns 0, or the reason it is refused. */
static const char *read_request(int fd, char *buf, size_t *out_len, int64_t deadline)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		char *nl;
		ssize_t n;

		if (left <= 0)
			return "no complete request line within 1 s";
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return "poll failed";
		}
		/* One byte past the limit tells "too long" from "just fits". */
		n = recv(fd, buf + len, CTL_MAX_REQUEST + 1 - len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return "read failed";
		}
		if (n == 0)
			return len ? "request not terminated by a newline" : "empty request";
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			if ((size_t)(nl - buf) + 1 > CTL_MAX_REQUEST)
				return TOO_LONG;
			*nl = '\0';
			if (nl > buf && nl[-1] == '\r')
				*--nl = '\0';
			*out_len = (size_t)(nl - buf);
			return NULL;
		}
		if (len > CTL_MAX_REQUEST)
			return TOO_LONG;
	}
}

static void reply_error(int fd, const char *why, int64_t deadline)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "error: %s\n", why);

	write_all(fd, line, (size_t)n, deadline);
}

/* After the reply: let the client see EOF, and take what it still sends
 * (briefly), so that closing does not reset the connection under a reply
 * it has not read yet. */
static void finish(int fd, int64_t deadline)
{
	char sink[4096];
	int64_t end = now_ms() + 200;

	if (end > deadline)
		end = deadline;
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	close(fd);
}

static void serve_one(int fd, ctl_handler_fn fn, void *ctx)
{
	char buf[CTL_MAX_REQUEST + 2], *argv[CTL_MAX_ARGS + 1];
	int64_t start = now_ms();
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	const char *why;
	char *reply = NULL, *p;
	size_t rlen = 0, len = 0;
	int argc = 0;
	FILE *f;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) || cred.uid != 0) {
		reply_error(fd, "permission denied", start + CTL_IO_MS);
		finish(fd, start + CTL_IO_MS);
		return;
	}
	why = read_request(fd, buf, &len, start + CTL_IO_MS);
	for (size_t i = 0; !why && i < len; i++)
		if ((buf[i] < 0x20 || buf[i] > 0x7e) && buf[i] != '\t')
			why = "request has bytes outside printable ASCII";
	for (p = buf; !why;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		if (argc == CTL_MAX_ARGS) {
			why = "too many words in the request (at most " STR(CTL_MAX_ARGS) ")";
			break;
		}
		argv[argc++] = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = '\0';
	}
	if (!why && !argc)
		why = "empty request";
	if (why) {
		reply_error(fd, why, now_ms() + CTL_IO_MS);
		finish(fd, now_ms() + CTL_IO_MS);
		return;
	}
	argv[argc] = NULL;
	f = open_memstream(&reply, &rlen);
	if (!f) {
		reply_error(fd, "out of memory", now_ms() + CTL_IO_MS);
		finish(fd, now_ms() + CTL_IO_MS);
		return;
	}
	fn(ctx, argc, argv, f);
	if (fclose(f) || !rlen) {
		reply_error(fd, rlen ? "out of memory" : "no reply", now_ms() + CTL_IO_MS);
	} else {
		int64_t deadline = now_ms() + CTL_IO_MS;

		if (!write_all(fd, reply, rlen, deadline) && reply[rlen - 1] != '\n')
			write_all(fd, "\n", 1, deadline);
	}
	free(reply);
	finish(fd, now_ms() + CTL_IO_MS);
}

void ctl_server__serve(struct ctl_server *s, ctl_handler_fn fn, void *ctx)
{
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN: nobody else waiting; others: try at the next poll */
		}
		serve_one(fd, fn, ctx);
	}
}

int ctl_client__call(const char *path, const char *request, FILE *out, char *err, size_t errlen)
{
	struct sockaddr_un a;
	int64_t deadline;
	char buf[4096], first[8];
	size_t nfirst = 0;
	bool any = false;
	int fd, r;

	if (fill_addr(&a, path)) {
		snprintf(err, errlen, "control socket path '%s' is empty or too long", path);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		r = -errno;
		if (errno == ENOENT || errno == ECONNREFUSED)
			snprintf(err, errlen, "no daemon listening on %s: start it with `latrack daemon`", path);
		else if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen, "%s: permission denied (the control socket is root-only: run as root)",
				 path);
		else
			snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	deadline = now_ms() + CTL_CLIENT_MS;
	if (write_all(fd, request, strlen(request), deadline) || write_all(fd, "\n", 1, deadline)) {
		/* The server may have refused already (permission denied, too
		 * long): its reply, if any, is still worth reading. */
	}
	memset(first, 0, sizeof(first));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			snprintf(err, errlen, "no reply from the daemon on %s within %d s", path,
				 CTL_CLIENT_MS / 1000);
			close(fd);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0) {
			if (n < 0 && !any) {
				r = -errno;
				snprintf(err, errlen, "reading the reply from %s: %s", path, strerror(errno));
				close(fd);
				return r;
			}
			break;
		}
		any = true;
		for (ssize_t i = 0; i < n && nfirst < sizeof(first) - 1; i++)
			first[nfirst++] = buf[i];
		fwrite(buf, 1, (size_t)n, out);
	}
	close(fd);
	if (!strncmp(first, "ok", 2) && (first[2] == '\n' || first[2] == '\0' || first[2] == ' '))
		return 0;
	if (!strncmp(first, "error:", 6))
		return 1;
	snprintf(err, errlen, "%s from %s", any ? "unexpected reply" : "no reply", path);
	return -EPROTO;
}
