/* Rolling windows against a brute-force model (every value kept with its
 * timestamp), the 1 min / 5 min / 1 h spans, idle expiry and the memory
 * bound. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "rng.h"
#include <latrack/window.h>

#define SEC 1000000000ull

struct snap {
	uint64_t counts[LT_HIST_NR_SLOTS];
};

static int snap_fn(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
	struct snap *s = ctx;

	(void)high;
	s->counts[lt_hist_bucket(low)] = count;
	return 0;
}

static int hist_equal(const struct lt_hist *a, const struct lt_hist *b)
{
	static struct snap sa, sb;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	lt_hist__foreach_bucket(a, snap_fn, &sa);
	lt_hist__foreach_bucket(b, snap_fn, &sb);
	return !memcmp(&sa, &sb, sizeof(sa)) && lt_hist__sum(a) == lt_hist__sum(b) &&
	       lt_hist__min(a) == lt_hist__min(b) && lt_hist__max(a) == lt_hist__max(b);
}

struct ev {
	uint64_t t, v;
	int accepted;
};

/* Random timestamps: mostly forward in small steps, sometimes long idle
 * gaps, sometimes late (out of order, some older than the ring). */
static void test_model(void)
{
	enum { NEV = 20000, NR = 12 };
	const uint64_t slot = 1 * SEC;
	struct lt_window_opts o = { .sz = sizeof(o), .slot_ns = slot, .nr_slots = NR };
	struct lt_window *w = lt_window__new(&o);
	struct ev *ev = calloc(NEV, sizeof(*ev));
	struct lt_hist *got = lt_hist__new(), *want = lt_hist__new();
	unsigned int bad_rc = 0, bad_q = 0, queries = 0, refused = 0;
	uint64_t now = 5 * SEC, cur = 0;
	int have_cur = 0;
	struct rng r;

	rng_seed(&r, 2024);
	for (int i = 0; i < NEV; i++) {
		uint64_t u = rng_u64(&r) % 1000, t;
		int rc, exp_ok;

		if (u < 5)
			now += (rng_u64(&r) % 30) * SEC; /* idle gap */
		else
			now += rng_u64(&r) % (SEC / 4);
		t = now;
		if (u >= 900) /* late by up to 20 s */
			t = now > 20 * SEC ? now - rng_u64(&r) % (20 * SEC) : now;
		ev[i] = (struct ev){ .t = t, .v = 1000 + rng_u64(&r) % 1000000 };
		/* The model, from the contract: time moves to the newest slot
		 * seen; a value older than the ring is refused. */
		if (!have_cur || t / slot > cur)
			cur = t / slot;
		have_cur = 1;
		exp_ok = t / slot + NR > cur;
		rc = lt_window__record(w, ev[i].v, t);
		ev[i].accepted = rc == 0;
		refused += rc != 0;
		if ((rc == 0) != exp_ok || (rc && rc != -ERANGE))
			bad_rc++;

		if (i % 50 == 49) {
			/* Query at the latest time, or a little later. */
			uint64_t qnow = now + (rng_u64(&r) % 3) * slot;
			uint64_t k = 1 + rng_u64(&r) % NR, ago = rng_u64(&r) % (NR - k + 1);
			uint64_t end = qnow / slot - ago;

			if (lt_window__query_range(w, qnow, ago * slot, k * slot, got)) {
				bad_q++;
				continue;
			}
			lt_hist__reset(want);
			for (int j = 0; j <= i; j++) {
				uint64_t e = ev[j].t / slot;

				/* Kept: accepted and not yet expired (expiry
				 * happens as time moves: epochs <= cur - NR). */
				if (ev[j].accepted && e + NR > cur && e <= end && e + k > end)
					lt_hist__record(want, ev[j].v);
			}
			queries++;
			if (!hist_equal(got, want))
				bad_q++;
		}
	}
	ok(bad_rc == 0, "record: 0 or -ERANGE exactly as the model says (%u of %d refused as "
			"too old)",
	   refused, NEV);
	ok(bad_q == 0, "%u random (ago, span) queries equal the brute-force model", queries);
	ok(refused > 0, "the stream did exercise late values beyond the ring");
	free(ev);
	lt_hist__destroy(got);
	lt_hist__destroy(want);
	lt_window__destroy(w);
}

/* Default window (10 s slots, 366): one value per second, value = its
 * second, for two hours; check the 1 min, 5 min and 1 h spans. */
static void test_spans(void)
{
	struct lt_window *w = lt_window__new(NULL);
	struct lt_hist *h = lt_hist__new();
	struct lt_window_stats st;
	uint64_t last = 7200 + 5; /* seconds; 5 s into a slot */
	static const uint64_t spans[] = { 60, 300, 3600 };
	unsigned int bad = 0;

	for (uint64_t s = 0; s <= last; s++)
		lt_window__record(w, s * 1000, s * SEC);
	for (unsigned int i = 0; i < 3; i++) {
		uint64_t k = spans[i] / 10, n = 0, mn = UINT64_MAX, mx = 0;

		lt_window__query(w, last * SEC, spans[i] * SEC, h);
		/* Slots (last/10 - k, last/10]: seconds from (last/10 - k + 1) * 10. */
		for (uint64_t s = 0; s <= last; s++) {
			if (s / 10 + k > last / 10 && s / 10 <= last / 10) {
				n++;
				mn = s * 1000 < mn ? s * 1000 : mn;
				mx = s * 1000;
			}
		}
		if (lt_hist__count(h) != n || lt_hist__min(h) != mn || lt_hist__max(h) != mx) {
			bad++;
			tap_diag("span %" PRIu64 " s: count %" PRIu64 " want %" PRIu64, spans[i],
				 lt_hist__count(h), n);
		}
		ok(!bad, "last %" PRIu64 " s: %" PRIu64 " values (%" PRIu64 " full slots + 6 s of "
			 "the current one)",
		   spans[i], n, k - 1);
	}
	is_i64(lt_window__query(w, last * SEC, 15 * SEC, h), -EINVAL, "span not a multiple of "
								      "the slot: -EINVAL");
	is_i64(lt_window__query(w, last * SEC, 367 * 10 * SEC, h), -EINVAL,
	       "span longer than the ring: -EINVAL");
	is_i64(lt_window__query_range(w, last * SEC, 10 * SEC, 366 * 10 * SEC, h), -EINVAL,
	       "ago + span beyond the ring: -EINVAL");
	ok(lt_window__query_range(w, last * SEC, 60 * SEC, 3600 * SEC, h) == 0 &&
		   lt_hist__count(h) == 3600,
	   "the hour before the last minute: 3600 values");

	lt_window__stats(w, &st);
	ok(st.live_slots == 366, "after 2 h of traffic: %" PRIu64 " live slots (the ring)",
	   st.live_slots);
	ok(st.bytes <= 3578080, "memory %" PRIu64 " bytes <= the documented bound 3,578,080",
	   st.bytes);
	lt_window__advance(w, (last + 3660) * SEC);
	lt_window__stats(w, &st);
	ok(st.live_slots == 0 && st.bytes <= 64,
	   "idle for 61 min: no slot, %" PRIu64 " bytes (the struct only)", st.bytes);
	ok(lt_window__query(w, (last + 3660) * SEC, 3600 * SEC, h) == 0 && lt_hist__count(h) == 0,
	   "and an empty hour");
	lt_hist__destroy(h);
	lt_window__destroy(w);
}

static void test_pool(void)
{
	struct lt_hist_pool_opts po = { .sz = sizeof(po), .max_hists = 3, .max_cached = 2 };
	struct lt_hist_pool *p = lt_hist_pool__new(&po);
	struct lt_window_opts o = { .sz = sizeof(o), .slot_ns = SEC, .nr_slots = 10, .pool = p };
	struct lt_window *a = lt_window__new(&o), *b = lt_window__new(&o);
	struct lt_hist_pool_stats ps;
	struct lt_window_stats st;
	struct lt_hist *h = lt_hist__new();
	int rc[5];

	for (int i = 0; i < 5; i++)
		rc[i] = lt_window__record(i < 2 ? a : b, 100, (uint64_t)i * SEC);
	ok(!rc[0] && !rc[1] && !rc[2] && rc[3] == -ENOSPC && rc[4] == -ENOSPC,
	   "pool of 3 histograms shared by 2 windows: the 4th slot is refused (-ENOSPC)");
	lt_window__stats(b, &st);
	lt_hist_pool__stats(p, &ps);
	ok(st.no_hist == 2 && ps.refused == 2 && ps.in_use == 3, "refusals counted (window %" PRIu64
										 ", pool %" PRIu64 ")",
	   st.no_hist, ps.refused);
	is_i64(lt_window__record(b, 100, 2 * SEC), 0, "an open slot still records");
	lt_window__advance(a, 30 * SEC);
	lt_hist_pool__stats(p, &ps);
	ok(ps.in_use == 1 && ps.cached == 2, "window a idle: its slots back in the pool (in use %"
					     PRIu64 ", cached %" PRIu64 ")",
	   ps.in_use, ps.cached);
	is_i64(lt_window__record(b, 100, 4 * SEC), 0, "and b gets one of them");
	lt_hist__record(h, 5);
	lt_hist__record(h, 50000);
	is_i64(lt_window__record_hist(b, h, 4 * SEC), 0, "record_hist adds a histogram to a slot");
	lt_window__query(b, 4 * SEC, 10 * SEC, h);
	ok(lt_hist__count(h) == 5 && lt_hist__min(h) == 5 && lt_hist__max(h) == 50000,
	   "query sees records and the added histogram");
	lt_window__destroy(a);
	lt_window__destroy(b);
	lt_hist_pool__stats(p, &ps);
	ok(ps.in_use == 0 && ps.cached == 2, "destroy gives everything back; the pool keeps %" PRIu64
					     " for reuse",
	   ps.cached);
	lt_hist_pool__destroy(p);
	lt_hist__destroy(h);
	lt_window__destroy(NULL);
	lt_hist_pool__destroy(NULL);

	struct lt_window_opts bad = { .sz = 4 };
	errno = 0;
	ok(lt_window__new(&bad) == NULL && errno == EINVAL, "opts with a bad sz: NULL, EINVAL");
}

int main(void)
{
	test_model();
	test_spans();
	test_pool();
	return tap_done();
}
