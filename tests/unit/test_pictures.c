/* The picture modules (src/svg.c, src/flame.c): XML escaping of strings
 * from the traced system, the heatmap grid's counts through column
 * compaction, folded-stack aggregation and the flame graph's totals. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../src/svg.c"
#include "../../src/flame.c"

static char *esc(const char *s, size_t max)
{
	static char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (max)
		svg_strn(f, s, max);
	else
		svg_str(f, s);
	fclose(f);
	return buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	if (getdelim(&s, &n, 0, f) < 0) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

/* Sum of data-count="N" inside the element whose text starts at from,
 * up to the first occurrence of end_tag. */
static uint64_t sum_attr(const char *from, const char *until, const char *attr)
{
	uint64_t sum = 0;
	size_t al = strlen(attr);

	for (const char *p = from; (p = strstr(p, attr)) && (!until || p < until); p += al)
		sum += strtoull(p + al, NULL, 10);
	return sum;
}

int main(void)
{
	char path[] = "/tmp/lt-pictures-XXXXXX";
	int fd = mkstemp(path);

	/* escaping */
	ok(!strcmp(esc("a&b<c>d\"e'f", 0), "a&amp;b&lt;c&gt;d&quot;e&apos;f"), "XML specials: %s",
	   esc("a&b<c>d\"e'f", 0));
	ok(!strcmp(esc("x\x01y\x1bz\x7f", 0), "x\\x01y\\x1bz\\x7f"), "control bytes as \\xHH: %s",
	   esc("x\x01y\x1bz\x7f", 0));
	ok(!strcmp(esc("caf\xc3\xa9 \xe2\x82\xac", 0), "caf\xc3\xa9 \xe2\x82\xac"), "UTF-8 kept");
	ok(!strcmp(esc("bad\xff\xc3(", 0), "bad\\xff\\xc3("), "bytes that are not UTF-8: %s",
	   esc("bad\xff\xc3(", 0));
	ok(!strcmp(esc("\xef\xbf\xbe", 0), "\\xef\\xbf\\xbe"), "U+FFFE is not an XML character");
	ok(!strcmp(esc("abcdefghij", 6), "abcd.."), "cut to 6 characters: %s", esc("abcdefghij", 6));
	ok(!strcmp(esc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4), "\xc3\xa9\xc3\xa9.."),
	   "cut between UTF-8 characters");
	ok(!strcmp(esc("a<b", 3), "a&lt;b"), "entities count as one character");

	/* the grid: samples over a long span, compacted many times */
	{
		struct lat_pics *p = lat_pics__new();
		struct lat_pics_sel sel = { .top = 0 };
		struct lat_pics_page pg = { .what = "test <&>", .where = "here" };
		char err[256];
		uint64_t n = 0;
		char *s;

		lat_pics__set_origin(p, 1000);
		for (int i = 0; i < 20000; i++) {
			lat_pics__record(p, "fast \"one\"", 1000 + (int64_t)i * 997, 100 + i % 50, 1);
			lat_pics__record(p, "slow<", 1000 + (int64_t)i * 997, 1000000 + (uint64_t)i * 13, 2);
			n += 3;
		}
		lat_pics__record(p, "slow<", 5000, (uint64_t)1 << 43, 1); /* overflow row */
		n++;
		is_u64(lat_pics__samples(p), n, "samples counted");
		is_u64(lat_pics__classes(p), 2, "two classes");
		ok(lat_pics__write(p, path, &sel, &pg, err, sizeof(err)) == 0, "written: %s", err);
		s = slurp(path);
		ok(s && strstr(s, "data-class=\"fast &quot;one&quot;\"") && strstr(s, "data-class=\"slow&lt;\""),
		   "class names escaped");
		if (s) {
			const char *hm = strstr(s, "class=\"heatmap\""), *hend = hm ? strstr(hm, "</g>") : NULL;
			const char *hist = strstr(s, "class=\"histogram\"");
			const char *hist_end = hist ? strstr(hist, "</g>") : NULL;

			ok(hm && hist, "a heatmap and a histogram");
			if (hm && hist) {
				/* the first class drawn is the one with the most total time */
				is_u64(sum_attr(hm, hend, "data-count=\""), 40001, "heatmap cells of 'slow<' sum to its count");
				is_u64(sum_attr(hist, hist_end, "data-count=\""), 40001, "histogram bars too");
			}
			ok(!strstr(s, "test <&>"), "title escaped");
		}
		free(s);
		lat_pics__destroy(p);
	}

	/* spread over a span: shares add up, in every column of the span */
	{
		struct lat_pics *p = lat_pics__new();
		uint64_t sum = 0;
		int cols = 0;

		lat_pics__set_origin(p, 0);
		lat_pics__set_width(p, 1000);
		lat_pics__record(p, "x", 0, 50, 1);
		lat_pics__record_span(p, "x", 250, 10250, 50, 1001); /* columns 0..10 */
		lat_pics__record_span(p, "x", 400000, 400001, 50, 7);  /* forces doublings */
		for (size_t k = 0; k < p->nall; k++)
			for (int i = 0; i < LAT_PICS_MAX_COLS; i++)
				if (p->all[k]->col[i]) {
					cols++;
					for (int r = 0; r < NROWS; r++)
						sum += p->all[k]->col[i][r];
				}
		is_u64(sum, 1009, "record_span: the shares add up");
		is_u64(lat_pics__width(p), 4000, "width doubled twice (400 us in 160 columns)");
		ok(cols >= 3, "the span's samples are in each of its columns (%d)", cols);
		lat_pics__destroy(p);
	}

	/* folded stacks */
	{
		struct flame *fl = flame__new();
		const char *a[] = { "app", "main", "work", "schedule_[k]" };
		const char *b[] = { "app", "main", "wo;rk\n", "schedule_[k]" };
		const char *c[] = { "app", "main" };
		const char *d[] = { "app!", "x" };
		struct flame_page pg = { .title = "t", .subtitle = "<s>", .unit = "us" };
		char err[256], *s;

		flame__add(fl, a, 4, 10);
		flame__add(fl, a, 4, 5);
		flame__add(fl, b, 4, 7);
		flame__add(fl, c, 2, 1);
		flame__add(fl, d, 2, 2);
		is_u64(flame__stacks(fl), 4, "4 distinct stacks");
		is_u64(flame__total(fl), 25, "total");
		ok(flame__write_folded(fl, path, err, sizeof(err)) == 0, "folded written");
		s = slurp(path);
		ok(s && !strcmp(s, "app;main 1\napp;main;wo:rk?;schedule_[k] 7\napp;main;work;schedule_[k] 15\napp!;x 2\n"),
		   "folded: sorted, summed, sanitised");
		if (s && strcmp(s, "app;main 1\napp;main;wo:rk?;schedule_[k] 7\napp;main;work;schedule_[k] 15\napp!;x 2\n"))
			tap_diag("%s", s);
		free(s);
		ok(flame__write_svg(fl, path, &pg, err, sizeof(err)) == 0, "flame graph written");
		s = slurp(path);
		ok(s && strstr(s, "data-total=\"25\""), "flame graph total");
		/* depth 1: the processes "app" (23) and "app!" (2), each once */
		ok(s && sum_attr(s, NULL, "data-depth=\"1\" data-value=\"") == 25, "processes sum to the total");
		ok(s && strstr(s, "&lt;s&gt;") && !strstr(s, "<s>"), "subtitle escaped");
		free(s);
		flame__destroy(fl);
	}
	unlink(path);
	close(fd);
	return tap_done();
}
