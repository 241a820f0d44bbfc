/* The bucket function shared with BPF: the log2 implementations agree, and
 * every value falls inside [low, low + width) of its bucket. */
#include "tap.h"
#include <latrack/hist_layout.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(void)
{
	unsigned int bad_log2 = 0, bad_edge = 0, bad_mono = 0;
	unsigned int prev = 0;

	for (int i = 0; i < 2000000; i++) {
		uint64_t v = next() >> (next() % 64);
		if (v == 0)
			continue;
		if (lt_hist_log2(v) != lt_hist_log2_search(v))
			bad_log2++;
		unsigned int b = lt_hist_bucket(v);
		if (b < LT_HIST_OVERFLOW) {
			uint64_t lo = lt_hist_bucket_low(b), w = lt_hist_bucket_width(b);
			if (v < lo || v >= lo + w)
				bad_edge++;
		} else if (v < (1ull << LT_HIST_MAX_EXP)) {
			bad_edge++;
		}
	}
	ok(bad_log2 == 0, "clz and binary-search log2 agree on 2M random values");
	{
		unsigned int bad_tab = 0;

		/* the BPF build's table below 2^16, search above */
		for (uint64_t v = 1; v < (1u << 18); v++)
			bad_tab += lt_hist_log2_tab(v) != lt_hist_log2(v);
		for (int i = 0; i < 1000000; i++) {
			uint64_t v = next() >> (next() % 64);

			if (v)
				bad_tab += lt_hist_log2_tab(v) != lt_hist_log2(v);
		}
		ok(bad_tab == 0, "table log2 (BPF) agrees with clz on 1 .. 2^18 and 1M random values");
	}
	ok(bad_edge == 0, "each value lies in [low, low+width) of its bucket");

	for (uint64_t v = 0; v < 100000; v++) {
		unsigned int b = lt_hist_bucket(v);
		if (b < prev || b > prev + 1)
			bad_mono++;
		prev = b;
	}
	ok(bad_mono == 0, "bucket index is monotonic and gap-free on 0..1e5");

	is_u64(LT_HIST_NR_SLOTS, 1217, "1216 buckets plus overflow");
	is_u64(lt_hist_bucket(31), 31, "31 ns has its own bucket");
	is_u64(lt_hist_bucket(32), 32, "32 ns starts the first log-linear range");
	is_u64(lt_hist_bucket((1ull << 42) - 1), LT_HIST_OVERFLOW - 1, "2^42-1 is the last bucket");
	is_u64(lt_hist_bucket(1ull << 42), LT_HIST_OVERFLOW, "2^42 ns overflows");
	is_u64(lt_hist_bucket(~0ull), LT_HIST_OVERFLOW, "UINT64_MAX overflows");
	ok(lt_hist_bucket(3600000000000ull) < LT_HIST_OVERFLOW, "one hour is not overflow");
	for (unsigned int k = 5; k < LT_HIST_MAX_EXP; k++)
		if (lt_hist_bucket_low(lt_hist_bucket(1ull << k)) != (1ull << k))
			bad_edge++;
	ok(bad_edge == 0, "every power of two from 32 ns is a bucket edge");
	/* Relative width: 1/32 of the lower edge everywhere above 32 ns. */
	unsigned int bad_w = 0;
	for (unsigned int i = LT_HIST_SUB_COUNT; i < LT_HIST_OVERFLOW; i++)
		if (lt_hist_bucket_width(i) * 32 > lt_hist_bucket_low(i))
			bad_w++;
	ok(bad_w == 0, "bucket width <= 1/32 of its lower edge");
	return tap_done();
}
