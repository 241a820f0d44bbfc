/* Writes a few valid histogram encodings into DIR as the fuzzer's seed
 * corpus: empty, one value, small values, a wide spread with overflow. */
#include <stdio.h>
#include <stdlib.h>

#include <latrack/hist.h>

static int write_seed(const char *dir, int i, const struct lt_hist *h)
{
	static unsigned char buf[LT_HIST_SERIAL_MAX];
	char path[4096];
	int n = lt_hist__serialize(h, buf, sizeof(buf));
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed%d", dir, i);
	f = fopen(path, "wb");
	if (!f || n <= 0 || fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		return 1;
	}
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	struct lt_hist *h = lt_hist__new();
	int err = 0;

	if (argc != 2 || !h) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	err |= write_seed(argv[1], 0, h);
	lt_hist__record(h, 12345);
	err |= write_seed(argv[1], 1, h);
	for (unsigned long long v = 0; v < 40; v++)
		lt_hist__record(h, v);
	err |= write_seed(argv[1], 2, h);
	for (unsigned long long v = 1; v; v <<= 1)
		lt_hist__record_n(h, v + v / 3, 3);
	err |= write_seed(argv[1], 3, h);
	lt_hist__destroy(h);
	return err;
}
