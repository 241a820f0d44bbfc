/* JSON lines output: every outlier, stuck event and change record as one
 * line (live_record.json plus '\n') to a file rotated by size, or stdout.
 * docs/GRAPHITE.md is the user's manual.
 *
 *   - Each record goes out with one write(2) of the whole line (no stdio
 *     buffer), so `tail -f` sees it at once and concurrent readers never
 *     see half a line unless the disk fills; a write that fails part-way
 *     is cut back (ftruncate) so the file never holds a partial line.
 *   - Rotation: when the line would take the file past max_bytes (and the
 *     file is not empty), PATH.(keep-1) -> PATH.keep, ..., PATH -> PATH.1,
 *     then PATH is created again.  So a line is never split across files,
 *     and a line longer than max_bytes gets a file of its own.  keep = 0:
 *     the file is truncated instead.
 *   - The file is opened O_APPEND, mode 0640.  Once a second (poll), the
 *     sink checks that PATH is still the file it writes to, and reopens it
 *     when it was moved or deleted (external logrotate).
 *   - Errors (open, write, rename) are counted and the record dropped
 *     (counted); the last error is in status().  After a failed open the
 *     next record tries again.
 *   - "-": stdout, never rotated, written by a thread of its own from a
 *     queue of at most JSON_STDOUT_QUEUE bytes: a stdout that blocks (a
 *     full pipe, a stopped reader) never blocks the engine; the records
 *     that find the queue full are dropped and counted.  At exit the
 *     queue is written out for up to JSON_STDOUT_DRAIN_NS, then given
 *     up (counted as dropped). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h> /* before lt_bpf.h (through outputs.h) */

#include "out_stats.h"
#include "outputs.h"

#define NS_PER_S ((uint64_t)1000000000)
#define JSON_STDOUT_QUEUE (8u << 20)
#define JSON_STDOUT_DRAIN_NS (2 * NS_PER_S)

/* A line waiting for the stdout writer. */
struct jline {
	struct jline *next;
	size_t len; /* with its '\n' */
	char buf[];
};

struct jsink {
	struct sink s;
	struct cfg_json cfg;
	bool is_stdout;
	int fd;
	uint64_t size;     /* bytes in the current file */
	dev_t dev;
	ino_t ino;
	uint64_t next_check;
	struct out_json_stats st;
	bool failing;      /* the last write or open failed */
	char last_err[256];
	/* mu guards st, failing and last_err (written by the stdout writer
	 * thread too) and, for stdout, the queue and its writer. */
	pthread_mutex_t mu;
	pthread_cond_t more, drained;
	pthread_t writer;
	bool writer_on, stop;
	struct jline *head, *tail;
	size_t queued; /* bytes */
};

static const struct sink_ops json_ops;

static void j_err(struct jsink *j, const char *fmt, ...)
{
	va_list ap;

	j->st.errors++;
	j->failing = true;
	va_start(ap, fmt);
	vsnprintf(j->last_err, sizeof(j->last_err), fmt, ap);
	va_end(ap);
}

static int j_open(struct jsink *j, bool trunc)
{
	struct stat sb;
	int fd = open(j->cfg.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (trunc ? O_TRUNC : 0),
		      0640);

	if (fd < 0) {
		j_err(j, "open %s: %s", j->cfg.path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) < 0) {
		int e = errno;

		j_err(j, "stat %s: %s", j->cfg.path, strerror(e));
		close(fd);
		return -e;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->size = (uint64_t)sb.st_size;
	j->dev = sb.st_dev;
	j->ino = sb.st_ino;
	return 0;
}

static void j_rotate(struct jsink *j)
{
	size_t plen = strlen(j->cfg.path) + 16;
	char *from = malloc(plen), *to = malloc(plen);

	if (!from || !to) {
		j_err(j, "rotate %s: out of memory", j->cfg.path);
		goto out;
	}
	if (j->cfg.keep == 0) {
		j_open(j, true);
		j->st.rotations++;
		goto out;
	}
	for (uint32_t i = j->cfg.keep - 1; i >= 1; i--) {
		snprintf(from, plen, "%s.%" PRIu32, j->cfg.path, i);
		snprintf(to, plen, "%s.%" PRIu32, j->cfg.path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			j_err(j, "rename %s to %s: %s", from, to, strerror(errno));
	}
	snprintf(to, plen, "%s.1", j->cfg.path);
	if (rename(j->cfg.path, to) < 0 && errno != ENOENT) {
		/* Cannot rotate: keep appending rather than lose records. */
		j_err(j, "rename %s to %s: %s", j->cfg.path, to, strerror(errno));
		goto out;
	}
	j->st.rotations++;
	if (j_open(j, false) < 0) {
		close(j->fd);
		j->fd = -1;
	}
out:
	free(from);
	free(to);
}

/* Write all of buf to fd; 0, or errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The stdout writer: takes the lines in order, writes each whole.  It can
 * be cancelled (j_destroy, past the drain deadline) only inside write(2),
 * where it holds no lock; the line it was writing is still queued. */
static void *j_writer(void *arg)
{
	struct jsink *j = arg;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&j->mu);
	for (;;) {
		struct jline *l;
		int err;

		while (!j->head && !j->stop)
			pthread_cond_wait(&j->more, &j->mu);
		if (!j->head)
			break; /* stopped, and nothing left */
		l = j->head;
		pthread_mutex_unlock(&j->mu);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		err = write_all(j->fd, l->buf, l->len);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		pthread_mutex_lock(&j->mu);
		j->head = l->next;
		if (!j->head)
			j->tail = NULL;
		j->queued -= l->len;
		if (err) {
			j_err(j, "write stdout: %s", strerror(err));
			j->st.dropped++;
		} else {
			j->failing = false;
			j->st.bytes += l->len;
			j->st.lines++;
		}
		free(l);
		if (!j->head)
			pthread_cond_broadcast(&j->drained);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static void j_record_stdout(struct jsink *j, const char *json)
{
	size_t len = strlen(json) + 1;
	struct jline *l;

	pthread_mutex_lock(&j->mu);
	if (j->queued + len > JSON_STDOUT_QUEUE || !(l = malloc(sizeof(*l) + len))) {
		j->st.dropped++;
		pthread_mutex_unlock(&j->mu);
		return;
	}
	memcpy(l->buf, json, len - 1);
	l->buf[len - 1] = '\n';
	l->len = len;
	l->next = NULL;
	if (j->tail)
		j->tail->next = l;
	else
		j->head = l;
	j->tail = l;
	j->queued += len;
	pthread_cond_signal(&j->more);
	pthread_mutex_unlock(&j->mu);
}

static void j_record(struct sink *s, const struct live_record *r)
{
	struct jsink *j = (struct jsink *)s;
	size_t len, done = 0;
	struct iovec iov[2];

	if (!r->json)
		return;
	if (j->is_stdout) {
		j_record_stdout(j, r->json);
		return;
	}
	len = strlen(r->json) + 1;
	/* a file from here on */
	if (j->fd < 0 && j_open(j, false) < 0) {
		j->st.dropped++;
		return;
	}
	if (j->cfg.max_bytes && j->size > 0 && j->size + len > j->cfg.max_bytes) {
		j_rotate(j);
		if (j->fd < 0) {
			j->st.dropped++;
			return;
		}
	}
	while (done < len) {
		ssize_t w;

		iov[0].iov_base = (char *)r->json + done;
		iov[0].iov_len = done < len - 1 ? len - 1 - done : 0;
		iov[1].iov_base = "\n";
		iov[1].iov_len = 1;
		w = iov[0].iov_len ? writev(j->fd, iov, 2) : write(j->fd, "\n", 1);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			j_err(j, "write %s: %s", j->cfg.path, strerror(errno));
			/* No partial line left behind in a file. */
			if (done && ftruncate(j->fd, (off_t)j->size) < 0)
				j_err(j, "truncate %s: %s", j->cfg.path, strerror(errno));
			j->st.dropped++;
			return;
		}
		done += (size_t)w;
	}
	j->failing = false;
	j->size += len;
	j->st.bytes += len;
	j->st.lines++;
}

static void j_poll(struct sink *s, uint64_t mono_ns)
{
	struct jsink *j = (struct jsink *)s;
	struct stat sb;

	if (j->is_stdout || mono_ns < j->next_check)
		return;
	j->next_check = mono_ns + NS_PER_S;
	if (j->fd >= 0 && stat(j->cfg.path, &sb) == 0 && sb.st_dev == j->dev && sb.st_ino == j->ino)
		return;
	/* Moved or deleted by someone else, or not open: (re)open. */
	j_open(j, false);
}

static void j_status(struct sink *s, FILE *out)
{
	struct jsink *j = (struct jsink *)s;

	pthread_mutex_lock(&j->mu);

	fprintf(out, "json: state=%s path=%s lines=%" PRIu64 " bytes=%" PRIu64 " rotations=%" PRIu64
		" errors=%" PRIu64 " dropped=%" PRIu64,
		(j->is_stdout || j->fd >= 0) && !j->failing ? "ok" : "error", j->is_stdout ? "-" : j->cfg.path,
		j->st.lines, j->st.bytes, j->st.rotations, j->st.errors, j->st.dropped);
	if (j->last_err[0]) {
		fputs(" last_error=\"", out);
		for (const char *c = j->last_err; *c; c++)
			fputc(*c == '"' ? '\'' : *c, out);
		fputc('"', out);
	}
	if (j->is_stdout)
		fprintf(out, " queued=%zu", j->queued);
	pthread_mutex_unlock(&j->mu);
	fputc('\n', out);
}

static void j_destroy(struct sink *s)
{
	struct jsink *j = (struct jsink *)s;

	if (!j)
		return;
	if (j->fd >= 0 && !j->is_stdout)
		close(j->fd);
	if (j->writer_on) {
		struct timespec dl;

		/* Write what is queued, within a deadline: a stdout that never
		 * drains must not keep the daemon from exiting. */
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += (time_t)(JSON_STDOUT_DRAIN_NS / NS_PER_S);
		pthread_mutex_lock(&j->mu);
		j->stop = true;
		pthread_cond_signal(&j->more);
		while (j->head && pthread_cond_timedwait(&j->drained, &j->mu, &dl) == 0)
			;
		pthread_mutex_unlock(&j->mu);
		pthread_cancel(j->writer); /* no-op once it has ended */
		pthread_join(j->writer, NULL);
		while (j->head) {
			struct jline *l = j->head;

			j->head = l->next;
			j->st.dropped++;
			free(l);
		}
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->more);
	pthread_cond_destroy(&j->drained);
	free(j);
}

static void j_health(struct sink *s, struct sink_health *h)
{
	struct jsink *j = (struct jsink *)s;

	pthread_mutex_lock(&j->mu);
	h->up = !j->failing;
	h->dropped = j->st.dropped;
	h->errors = j->st.errors;
	pthread_mutex_unlock(&j->mu);
}

static const struct sink_ops json_ops = {
	.name = "json",
	.record = j_record,
	.snapshot = NULL,
	.status = j_status,
	.poll = j_poll,
	.destroy = j_destroy,
	.health = j_health,
};

int out_json__stats(const struct sink *s, struct out_json_stats *st)
{
	struct jsink *j = (struct jsink *)s;

	if (!s || !st || s->ops != &json_ops)
		return -EINVAL;
	pthread_mutex_lock(&j->mu);
	*st = j->st;
	pthread_mutex_unlock(&j->mu);
	return 0;
}

struct sink *out_json__new(const struct cfg_json *c, char *err, size_t errlen)
{
	struct jsink *j;

	if (!c || !c->path[0]) {
		snprintf(err, errlen, "json: no path");
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "json: out of memory");
		return NULL;
	}
	j->s.ops = &json_ops;
	j->cfg = *c;
	j->fd = -1;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->more, NULL);
	pthread_cond_init(&j->drained, NULL);
	if (!strcmp(c->path, "-")) {
		int e;

		j->is_stdout = true;
		j->fd = STDOUT_FILENO;
		e = pthread_create(&j->writer, NULL, j_writer, j);
		if (e) {
			snprintf(err, errlen, "json: cannot start the stdout writer: %s", strerror(e));
			j_destroy(&j->s);
			return NULL;
		}
		j->writer_on = true;
		return &j->s;
	}
	if (j_open(j, false) < 0) {
		snprintf(err, errlen, "json: %s", j->last_err);
		j_destroy(&j->s);
		return NULL;
	}
	return &j->s;
}
