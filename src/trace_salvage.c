/* Salvage of a damaged CTF trace directory (see trace_salvage.h).
 *
 * Each stream file is probed alone (metadata + that file in a scratch
 * directory).  A file that does not read is, when LTTng's index
 * (index/NAME.idx: big-endian header, then one entry per packet starting
 * with its offset and its size in bits) covers it, copied up to the end of
 * its last packet that lies wholly in the file, and probed again; else it
 * is left out.  Readable files are symlinked, cut ones copied. */
#include "trace_salvage.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_MAGIC 0xC1F1DCC1u

/* The end of the last complete packet of a stream of `size` bytes, from
 * its index; 0 when there is no usable index. */
static uint64_t complete_prefix(const char *dir, const char *name, uint64_t size)
{
	char path[PATH_MAX + NAME_MAX + 16];
	uint32_t hdr[4];
	uint64_t end = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/index/%s.idx", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	if (fread(hdr, sizeof(hdr), 1, f) == 1 && be32toh(hdr[0]) == IDX_MAGIC) {
		uint32_t len = be32toh(hdr[3]);
		unsigned char *e = len >= 16 && len < 4096 ? malloc(len) : NULL;

		while (e && fread(e, len, 1, f) == 1) {
			uint64_t off, bits;

			memcpy(&off, e, 8);
			memcpy(&bits, e + 8, 8);
			off = be64toh(off);
			bits = be64toh(bits);
			if (off + bits / 8 > size)
				break;
			end = off + bits / 8;
		}
		free(e);
	}
	fclose(f);
	return end;
}

static int copy_prefix(const char *from, const char *to, uint64_t len)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = -1, r = -EIO;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (out < 0) {
		r = -errno;
		goto done;
	}
	while (len) {
		ssize_t n = read(in, buf, len < sizeof(buf) ? len : sizeof(buf));

		if (n <= 0 || write(out, buf, (size_t)n) != n)
			goto done;
		len -= (uint64_t)n;
	}
	r = 0;
done:
	if (out >= 0)
		close(out);
	close(in);
	return r;
}

static char *make_tmp(void)
{
	const char *t = getenv("TMPDIR");
	char *p = NULL;

	if (asprintf(&p, "%s/latrack-salvage-XXXXXX", t && *t ? t : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

void trace_salvage__remove(char *tmpdir)
{
	DIR *d;
	struct dirent *de;
	char path[PATH_MAX + NAME_MAX + 16];

	if (!tmpdir)
		return;
	d = opendir(tmpdir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	free(tmpdir);
}

/* Probe one stream file (linked or cut) alone with the metadata. */
static int probe_one(const char *dir, const char *name, uint64_t cut, trace_probe_fn probe,
		     void *ctx)
{
	char *t = make_tmp();
	char a[PATH_MAX + NAME_MAX + 16], b[PATH_MAX + NAME_MAX + 16];
	int r = -EIO;

	if (!t)
		return -errno;
	snprintf(a, sizeof(a), "%s/metadata", dir);
	snprintf(b, sizeof(b), "%s/metadata", t);
	if (symlink(a, b))
		goto done;
	snprintf(a, sizeof(a), "%s/%s", dir, name);
	snprintf(b, sizeof(b), "%s/%s", t, name);
	if (cut ? copy_prefix(a, b, cut) : symlink(a, b))
		goto done;
	r = probe(t, ctx);
done:
	trace_salvage__remove(t);
	return r;
}

char *trace_salvage(const char *dir_in, trace_probe_fn probe, void *ctx, char **note)
{
	char *out = NULL, *msg = NULL, dir[PATH_MAX];
	size_t msglen = 0;
	FILE *m = open_memstream(&msg, &msglen);
	DIR *d = realpath(dir_in, dir) ? opendir(dir) : NULL; /* symlinks need it absolute */
	struct dirent *de;
	unsigned good = 0, total = 0;
	char a[PATH_MAX + NAME_MAX + 16], b[PATH_MAX + NAME_MAX + 16];

	*note = NULL;
	if (!m || !d)
		goto fail;
	out = make_tmp();
	if (!out)
		goto fail;
	snprintf(a, sizeof(a), "%s/metadata", dir);
	snprintf(b, sizeof(b), "%s/metadata", out);
	if (symlink(a, b))
		goto fail;
	while ((de = readdir(d))) {
		struct stat sb;
		uint64_t cut;

		snprintf(a, sizeof(a), "%s/%s", dir, de->d_name);
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "metadata") || stat(a, &sb) ||
		    !S_ISREG(sb.st_mode))
			continue;
		total++;
		snprintf(b, sizeof(b), "%s/%s", out, de->d_name);
		if (!probe_one(dir, de->d_name, 0, probe, ctx)) {
			if (!symlink(a, b))
				good++;
			continue;
		}
		cut = complete_prefix(dir, de->d_name, (uint64_t)sb.st_size);
		if (cut && !probe_one(dir, de->d_name, cut, probe, ctx) &&
		    !copy_prefix(a, b, cut)) {
			fprintf(m, "\n  %s: truncated or damaged; read up to its last complete "
				   "packet (%llu of %llu bytes)", a, (unsigned long long)cut,
				(unsigned long long)sb.st_size);
			good++;
			continue;
		}
		fprintf(m, "\n  %s: truncated or damaged; left out", a);
	}
	if (!good)
		goto fail;
	fprintf(m, "\n  the report covers %u of the %u streams of this trace", good, total);
	fclose(m);
	m = NULL;
	closedir(d);
	*note = msg;
	return out;
fail:
	if (m)
		fclose(m);
	free(msg);
	if (d)
		closedir(d);
	trace_salvage__remove(out);
	errno = EINVAL;
	return NULL;
}
