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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_MAGIC 0xC1F1DCC1u
#define META_MAGIC 0x75D11D57u
#define META_HDR 37 /* magic, uuid, checksum, content and packet sizes, ... */

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

/* Bytes of DIR/metadata in complete packets; -1 when it is not packetized
 * (plain text) or cannot be read. */
static int64_t metadata_complete(const char *path, uint64_t size)
{
	unsigned char h[META_HDR];
	uint64_t off = 0;
	uint32_t magic;
	bool be;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	if (fread(h, sizeof(h), 1, f) != 1) {
		fclose(f);
		return size ? -1 : 0;
	}
	memcpy(&magic, h, 4);
	if (le32toh(magic) == META_MAGIC) {
		be = false;
	} else if (be32toh(magic) == META_MAGIC) {
		be = true;
	} else {
		fclose(f);
		return -1;
	}
	while (off + META_HDR <= size) {
		uint32_t content, psize;

		if (fseeko(f, (off_t)off, SEEK_SET) || fread(h, sizeof(h), 1, f) != 1)
			break;
		memcpy(&content, h + 24, 4);
		memcpy(&psize, h + 28, 4);
		content = be ? be32toh(content) : le32toh(content);
		psize = be ? be32toh(psize) : le32toh(psize);
		if (psize / 8 < META_HDR || content > psize || off + psize / 8 > size)
			break;
		off += psize / 8;
	}
	fclose(f);
	return (int64_t)off;
}

/* Write the text of the first LEN bytes of packetized metadata FROM as
 * plain-text metadata TO, cut after its last complete top-level
 * declaration (packets split the text anywhere).  Bytes of text kept, or
 * a negative errno. */
static int64_t metadata_to_text(const char *from, uint64_t len, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = NULL;
	char *text = NULL;
	size_t n = 0, keep = 0;
	int depth = 0;
	bool quote = false, be;
	uint64_t off = 0;
	unsigned char h[META_HDR];
	int64_t r = -EIO;

	if (!in)
		return -errno;
	text = malloc(len + 1);
	if (!text)
		goto done;
	while (off + META_HDR <= len) {
		uint32_t magic, content, psize;
		size_t body;

		if (fseeko(in, (off_t)off, SEEK_SET) || fread(h, sizeof(h), 1, in) != 1)
			goto done;
		memcpy(&magic, h, 4);
		be = be32toh(magic) == META_MAGIC;
		memcpy(&content, h + 24, 4);
		memcpy(&psize, h + 28, 4);
		content = be ? be32toh(content) : le32toh(content);
		psize = be ? be32toh(psize) : le32toh(psize);
		body = content / 8 > META_HDR ? content / 8 - META_HDR : 0;
		if (body && fread(text + n, 1, body, in) != body)
			goto done;
		n += body;
		off += psize / 8;
	}
	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		if (quote) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				quote = false;
		} else if (c == '"') {
			quote = true;
		} else if (c == '{') {
			depth++;
		} else if (c == '}') {
			depth--;
		} else if (c == ';' && depth == 0) {
			keep = i + 1;
		}
	}
	out = fopen(to, "wx");
	if (!out || fputs("/* CTF 1.8 */\n", out) < 0 || fwrite(text, 1, keep, out) != keep ||
	    fputc('\n', out) < 0)
		goto done;
	r = (int64_t)keep;
done:
	if (out && fclose(out) && r >= 0)
		r = -EIO;
	fclose(in);
	free(text);
	return r;
}

char *trace_salvage_metadata(const char *dir_in, char **note)
{
	char dir[PATH_MAX], a[PATH_MAX + NAME_MAX + 16], b[PATH_MAX + NAME_MAX + 16];
	struct stat sb;
	int64_t ok, kept;
	char *out;
	DIR *d;
	struct dirent *de;

	*note = NULL;
	errno = 0;
	if (!realpath(dir_in, dir) || (snprintf(a, sizeof(a), "%s/metadata", dir), stat(a, &sb))) {
		errno = 0; /* babeltrace2 will say what is wrong with it */
		return NULL;
	}
	ok = metadata_complete(a, (uint64_t)sb.st_size);
	if (ok < 0 || ok == sb.st_size) {
		errno = 0; /* whole, or not ours to judge: libc may have set it */
		return NULL;
	}
	if (ok == 0) {
		if (asprintf(note, "%s: cut short, and not one packet of it is complete "
				   "(%lld bytes): is LTTng still writing this trace?", a,
			     (long long)sb.st_size) < 0)
			*note = NULL;
		errno = EINVAL;
		return NULL;
	}
	out = make_tmp();
	if (!out)
		return NULL;
	snprintf(b, sizeof(b), "%s/metadata", out);
	kept = metadata_to_text(a, (uint64_t)ok, b);
	if (kept <= 0)
		goto fail;
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		snprintf(a, sizeof(a), "%s/%s", dir, de->d_name);
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "metadata") || stat(a, &sb) ||
		    !S_ISREG(sb.st_mode))
			continue;
		snprintf(b, sizeof(b), "%s/%s", out, de->d_name);
		if (symlink(a, b)) {
			closedir(d);
			goto fail;
		}
	}
	if (d)
		closedir(d);
	snprintf(a, sizeof(a), "%s/metadata", dir);
	if (asprintf(note, "\n  %s: cut short: read its %lld bytes of complete packets (%lld "
			   "bytes of declarations); events of classes declared after them will "
			   "not decode", a, (long long)ok, (long long)kept) < 0)
		*note = NULL;
	return out;
fail:
	trace_salvage__remove(out);
	errno = EIO;
	return NULL;
}
