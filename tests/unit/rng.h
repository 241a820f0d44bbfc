/* Seeded random numbers and latency distributions for the histogram tests
 * (xoshiro256** seeded through splitmix64: fast, reproducible). */
#ifndef LATRACK_TESTS_RNG_H
#define LATRACK_TESTS_RNG_H

#include <math.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

static inline uint64_t rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix(&seed);
}

static inline uint64_t rng_u64(struct rng *r)
{
	uint64_t *s = r->s, res = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = s[3] << 45 | s[3] >> 19;
	return res;
}

/* Uniform in (0, 1). */
static inline double rng_unit(struct rng *r)
{
	return ((double)(rng_u64(r) >> 11) + 0.5) / 9007199254740992.0;
}

static inline double rng_normal(struct rng *r)
{
	return sqrt(-2.0 * log(rng_unit(r))) * cos(6.283185307179586 * rng_unit(r));
}

static inline double rng_lognormal(struct rng *r, double median, double sigma)
{
	return median * exp(sigma * rng_normal(r));
}

static inline double rng_pareto(struct rng *r, double xm, double alpha)
{
	return xm * pow(rng_unit(r), -1.0 / alpha);
}

/* Round a positive double to a latency in ns, saturating. */
static inline uint64_t to_ns(double x)
{
	if (!(x > 0.0))
		return 0;
	if (x >= 1.8e19)
		return UINT64_MAX;
	return (uint64_t)llround(x);
}

#endif
