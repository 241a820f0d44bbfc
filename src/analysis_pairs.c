/* User-defined pairs (`--pair NAME=BEGIN..END:FIELD[,FIELD]`): the delay
 * between any two events that share key field values, e.g. an
 * application's `vif_detected port=X` and `vif_plugged port=X`.
 *
 * Key: each field as 8 bytes (an integer's value, or the id of an interned
 * string), then the nesting depth of that key.  A begin on a key already
 * open nests one deeper; an end closes the deepest: entry/exit of a
 * recursive function pairs innermost first.  The pairing itself goes
 * through trace_pair (the seam to lt_tracker), one per pair.
 *
 * The per-key depth table never forgets a key (a key back at depth 0 keeps
 * its slot): memory grows with the distinct keys of a trace, which is
 * bounded by what the trace holds and keeps the code small. */
#include "analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"
#include "stat_table.h"
#include "trace_pair.h"

#define KEY_BYTES (PAIR_MAX_FIELDS * 8)
/* Begins waiting for their end, per pair (preallocated by the tracker;
 * beyond, begins are dropped and counted). */
#define PAIRS_IN_FLIGHT (64 * 1024)

struct role {
	int pair;
	bool begin;
	trace_field_ref refs[PAIR_MAX_FIELDS];
};

struct roles {
	int n;
	struct role r[];
};

struct depth_slot {
	uint8_t len;
	uint8_t key[KEY_BYTES];
	uint32_t depth;
};

struct ptop {
	uint64_t delay;
	int64_t begin, end;
	char key[160];
};

struct pair_rt {
	struct pair_spec *spec;
	struct an_pairs *a;
	struct trace_pair *tp;
	struct depth_slot *dm;
	size_t dm_cap, dm_n;
	bool is_str[PAIR_MAX_FIELDS];
	struct trace_stat stat;
	uint64_t over, unmatched, missing_key, filtered;
	struct ptop *heap;
	size_t nheap;
};

struct an_pairs {
	const struct report_opts *o;
	struct pair_rt *p;
	int n;
	struct roles **roles; /* owned, one per event class with a role */
	size_t nroles, roles_cap;
	char **str;           /* interned strings */
	size_t nstr, str_cap;
	uint32_t *str_idx;    /* hash -> id + 1 */
	size_t str_idx_cap;
	int nomem;
};

/* ---- spec ------------------------------------------------------------ */

void pair_spec__free(struct pair_spec *p)
{
	free(p->name);
	free(p->begin);
	free(p->end);
	for (int i = 0; i < p->nfields; i++)
		free(p->fields[i]);
	memset(p, 0, sizeof(*p));
}

int pair_spec__parse(struct pair_spec *p, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '='), *dots, *colon;
	char *list, *tok, *save = NULL;

	memset(p, 0, sizeof(*p));
	dots = eq ? strstr(eq + 1, "..") : NULL;
	/* event names hold colons (provider:event): the key fields follow
	 * the last one */
	colon = dots ? strrchr(dots + 2, ':') : NULL;
	if (!eq || eq == arg || !dots || dots == eq + 1 || !colon || colon == dots + 2 ||
	    !colon[1]) {
		snprintf(err, errlen, "--pair takes NAME=BEGIN_EVENT..END_EVENT:FIELD[,FIELD...], "
				      "e.g. func=lttng_ust_cyg_profile:func_entry.."
				      "lttng_ust_cyg_profile:func_exit:vtid,addr; got '%s'", arg);
		return -EINVAL;
	}
	p->name = strndup(arg, (size_t)(eq - arg));
	p->begin = strndup(eq + 1, (size_t)(dots - eq - 1));
	p->end = strndup(dots + 2, (size_t)(colon - dots - 2));
	list = strdup(colon + 1);
	if (!p->name || !p->begin || !p->end || !list)
		goto nomem;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (p->nfields == PAIR_MAX_FIELDS) {
			snprintf(err, errlen, "--pair %s: at most %d key fields", p->name,
				 PAIR_MAX_FIELDS);
			free(list);
			pair_spec__free(p);
			return -EINVAL;
		}
		p->fields[p->nfields] = strdup(tok);
		if (!p->fields[p->nfields++])
			goto nomem;
	}
	free(list);
	if (!p->nfields) {
		snprintf(err, errlen, "--pair %s: no key field", p->name);
		pair_spec__free(p);
		return -EINVAL;
	}
	return 0;
nomem:
	free(list);
	pair_spec__free(p);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* ---- tables ---------------------------------------------------------- */

static uint64_t fnv(const void *k, size_t len)
{
	const uint8_t *b = k;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h ^ (h >> 31);
}

/* The id of an interned string; -1 on ENOMEM. */
static int64_t intern(struct an_pairs *a, const char *s)
{
	size_t len = strlen(s), j;

	if (a->str_idx_cap) {
		for (j = fnv(s, len) & (a->str_idx_cap - 1); a->str_idx[j];
		     j = (j + 1) & (a->str_idx_cap - 1))
			if (!strcmp(a->str[a->str_idx[j] - 1], s))
				return a->str_idx[j] - 1;
	}
	if ((a->nstr + 1) * 2 > a->str_idx_cap) {
		size_t nc = a->str_idx_cap ? a->str_idx_cap * 2 : 256;
		uint32_t *n = calloc(nc, sizeof(*n));

		if (!n)
			return -1;
		for (size_t i = 0; i < a->nstr; i++) {
			for (j = fnv(a->str[i], strlen(a->str[i])) & (nc - 1); n[j]; j = (j + 1) & (nc - 1))
				;
			n[j] = (uint32_t)i + 1;
		}
		free(a->str_idx);
		a->str_idx = n;
		a->str_idx_cap = nc;
	}
	if (a->nstr == a->str_cap) {
		size_t nc = a->str_cap ? a->str_cap * 2 : 128;
		char **n = realloc(a->str, nc * sizeof(*n));

		if (!n)
			return -1;
		a->str = n;
		a->str_cap = nc;
	}
	a->str[a->nstr] = strdup(s);
	if (!a->str[a->nstr])
		return -1;
	for (j = fnv(s, len) & (a->str_idx_cap - 1); a->str_idx[j]; j = (j + 1) & (a->str_idx_cap - 1))
		;
	a->str_idx[j] = (uint32_t)++a->nstr;
	return (int64_t)a->nstr - 1;
}

static struct depth_slot *depth_get(struct pair_rt *p, const uint8_t *key, size_t len)
{
	size_t j;

	if ((p->dm_n + 1) * 2 > p->dm_cap) {
		size_t nc = p->dm_cap ? p->dm_cap * 2 : 256;
		struct depth_slot *n = calloc(nc, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < p->dm_cap; i++) {
			if (!p->dm[i].len)
				continue;
			for (j = fnv(p->dm[i].key, p->dm[i].len) & (nc - 1); n[j].len; j = (j + 1) & (nc - 1))
				;
			n[j] = p->dm[i];
		}
		free(p->dm);
		p->dm = n;
		p->dm_cap = nc;
	}
	for (j = fnv(key, len) & (p->dm_cap - 1); p->dm[j].len; j = (j + 1) & (p->dm_cap - 1))
		if (p->dm[j].len == len && !memcmp(p->dm[j].key, key, len))
			return &p->dm[j];
	p->dm[j].len = (uint8_t)len;
	memcpy(p->dm[j].key, key, len);
	p->dm[j].depth = 0;
	p->dm_n++;
	return &p->dm[j];
}

/* ---- pairing --------------------------------------------------------- */

static void key_text(const struct pair_rt *p, const uint8_t *key, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < p->spec->nfields && o < len; i++) {
		int64_t v;
		char s[96];

		memcpy(&v, key + 8 * i, 8);
		if (p->is_str[i] && v >= 0 && (size_t)v < p->a->nstr)
			fmt_text_buf(s, sizeof(s), p->a->str[v]);
		else if (v < 0 || v > 4096)
			snprintf(s, sizeof(s), "%lld (%#llx)", (long long)v, (unsigned long long)v);
		else
			snprintf(s, sizeof(s), "%lld", (long long)v);
		o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", i ? " " : "", p->spec->fields[i], s);
	}
}

static bool ptop_less(const struct ptop *x, const struct ptop *y)
{
	if (x->delay != y->delay)
		return x->delay < y->delay;
	return x->begin > y->begin;
}

static void ptop_add(struct pair_rt *p, uint64_t delay, int64_t b, int64_t e, const uint8_t *key)
{
	size_t lim = p->a->o->limit, i;
	struct ptop t = { .delay = delay, .begin = b, .end = e };

	if (!lim || (p->nheap == lim && !ptop_less(&p->heap[0], &t)))
		return;
	key_text(p, key, t.key, sizeof(t.key));
	if (p->nheap < lim) {
		i = p->nheap++;
		p->heap[i] = t;
		while (i && ptop_less(&p->heap[i], &p->heap[(i - 1) / 2])) {
			struct ptop x = p->heap[i];

			p->heap[i] = p->heap[(i - 1) / 2];
			p->heap[(i - 1) / 2] = x;
			i = (i - 1) / 2;
		}
		return;
	}
	p->heap[0] = t;
	for (i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct ptop x;

		if (l < p->nheap && ptop_less(&p->heap[l], &p->heap[m]))
			m = l;
		if (r < p->nheap && ptop_less(&p->heap[r], &p->heap[m]))
			m = r;
		if (m == i)
			break;
		x = p->heap[i];
		p->heap[i] = p->heap[m];
		p->heap[m] = x;
		i = m;
	}
}

static void on_pair(const void *key, size_t key_len, uint64_t begin_ns, uint64_t end_ns,
		    void *priv, void *ctx)
{
	struct pair_rt *p = ctx;
	uint64_t d = end_ns - begin_ns;

	(void)key_len;
	(void)priv;
	if (!report_opts__delay_ok(p->a->o, d)) {
		p->filtered++;
		return;
	}
	trace_stat__record(&p->stat, d);
	if (p->a->o->windows)
		an_windows__record(p->a->o->windows, p->spec->name, d, end_ns);
	if (p->a->o->pics) {
		char name[LAT_PICS_NAME_MAX];

		snprintf(name, sizeof(name), "pair %s", p->spec->name);
		report_opts__picture(p->a->o, name, end_ns, d);
	}
	if (p->spec->threshold_ns && d > p->spec->threshold_ns)
		p->over++;
	ptop_add(p, d, (int64_t)begin_ns, (int64_t)end_ns, key);
}

struct an_pairs *an_pairs__new(struct pair_spec *specs, int n, const struct report_opts *o)
{
	struct an_pairs *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->o = o;
	a->n = n;
	a->p = calloc((size_t)n, sizeof(*a->p));
	if (!a->p)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct pair_rt *p = &a->p[i];

		p->spec = &specs[i];
		p->a = a;
		p->tp = trace_pair__new(KEY_BYTES + 4, PAIRS_IN_FLIGHT, on_pair, p);
		p->heap = calloc(o->limit ? o->limit : 1, sizeof(*p->heap));
		if (!p->tp || !p->heap)
			goto fail;
	}
	return a;
fail:
	an_pairs__destroy(a);
	return NULL;
}

void an_pairs__destroy(struct an_pairs *a)
{
	if (!a)
		return;
	for (int i = 0; a->p && i < a->n; i++) {
		trace_pair__destroy(a->p[i].tp);
		free(a->p[i].dm);
		free(a->p[i].heap);
	}
	free(a->p);
	for (size_t i = 0; i < a->nroles; i++)
		free(a->roles[i]);
	free(a->roles);
	for (size_t i = 0; i < a->nstr; i++)
		free(a->str[i]);
	free(a->str);
	free(a->str_idx);
	free(a);
}

/* What this event class is to the pairs: decided once per class. */
static struct roles *class_roles(struct an_pairs *a, const struct trace_event *ev,
				 struct kev_class *kc)
{
	struct roles *r;
	int n = 0;

	if (kc->pairs_set)
		return kc->pairs;
	for (int i = 0; i < a->n; i++)
		n += !strcmp(ev->name, a->p[i].spec->begin) + !strcmp(ev->name, a->p[i].spec->end);
	r = NULL;
	if (n) {
		if (a->nroles == a->roles_cap) {
			size_t nc = a->roles_cap ? a->roles_cap * 2 : 16;
			struct roles **x = realloc(a->roles, nc * sizeof(*x));

			if (!x)
				return NULL;
			a->roles = x;
			a->roles_cap = nc;
		}
		r = calloc(1, sizeof(*r) + (size_t)n * sizeof(r->r[0]));
		if (!r)
			return NULL;
		a->roles[a->nroles++] = r;
		for (int i = 0; i < a->n; i++) {
			for (int b = 1; b >= 0; b--) {
				struct role *ro;

				if (strcmp(ev->name, b ? a->p[i].spec->begin : a->p[i].spec->end))
					continue;
				ro = &r->r[r->n++];
				ro->pair = i;
				ro->begin = b;
				for (int f = 0; f < a->p[i].spec->nfields; f++)
					ro->refs[f] = trace_class__field(ev->cls, a->p[i].spec->fields[f]);
			}
		}
	}
	kc->pairs = r;
	kc->pairs_set = true;
	return r;
}

void an_pairs__event(struct an_pairs *a, const struct trace_event *ev, struct kev_class *kc)
{
	struct roles *r = class_roles(a, ev, kc);

	if (!r)
		return;
	for (int i = 0; i < r->n; i++) {
		const struct role *ro = &r->r[i];
		struct pair_rt *p = &a->p[ro->pair];
		uint8_t key[KEY_BYTES + 4];
		size_t len = (size_t)p->spec->nfields * 8;
		struct depth_slot *ds;
		bool ok = true;

		for (int f = 0; f < p->spec->nfields && ok; f++) {
			int64_t v;
			const char *s;

			if (!trace_event__int_at(ev, ro->refs[f], &v)) {
				/* ints as they are */
			} else if (!trace_event__str_at(ev, ro->refs[f], &s)) {
				v = intern(a, s);
				p->is_str[f] = true;
				if (v < 0)
					a->nomem = 1;
			} else {
				ok = false;
			}
			memcpy(key + 8 * f, &v, 8);
		}
		if (!ok) {
			p->missing_key++;
			continue;
		}
		ds = depth_get(p, key, len);
		if (!ds) {
			a->nomem = 1;
			continue;
		}
		if (ro->begin) {
			uint32_t d = ++ds->depth;

			memcpy(key + len, &d, 4);
			/* -ENOSPC: counted by the tracker, reported as dropped */
			trace_pair__begin(p->tp, key, len + 4, (uint64_t)ev->ts_ns, NULL);
		} else if (!ds->depth) {
			p->unmatched++;
		} else {
			uint32_t d = ds->depth--;

			memcpy(key + len, &d, 4);
			trace_pair__end(p->tp, key, len + 4, (uint64_t)ev->ts_ns);
		}
	}
}

/* ---- output ---------------------------------------------------------- */

struct open_list {
	struct pair_rt *p;
	struct ptop *v;
	size_t n, cap;
};

static int collect_open(const void *key, size_t key_len, uint64_t begin_ns, void *priv, void *ctx)
{
	struct open_list *l = ctx;

	(void)key_len;
	(void)priv;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct ptop *x = realloc(l->v, nc * sizeof(*x));

		if (!x)
			return -ENOMEM;
		l->v = x;
		l->cap = nc;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].begin = (int64_t)begin_ns;
	key_text(l->p, key, l->v[l->n].key, sizeof(l->v[0].key));
	l->n++;
	return 0;
}

static int cmp_begin(const void *x, const void *y)
{
	const struct ptop *a = x, *b = y;

	return a->begin < b->begin ? -1 : a->begin > b->begin;
}

static int cmp_slow(const void *x, const void *y)
{
	const struct ptop *a = x, *b = y;

	if (a->delay != b->delay)
		return a->delay > b->delay ? -1 : 1;
	return cmp_begin(x, y);
}

static void print_one(struct pair_rt *p, FILE *f, bool json, size_t limit)
{
	struct open_list ol = { .p = p };
	struct trace_pair_stats ps;
	struct ptop *top = malloc((p->nheap ? p->nheap : 1) * sizeof(*top));
	const struct trace_stat *s = &p->stat;
	char t1[32], t2[32];

	trace_pair__stats(p->tp, &ps);
	trace_pair__foreach_open(p->tp, collect_open, &ol);
	if (ol.n)
		qsort(ol.v, ol.n, sizeof(*ol.v), cmp_begin);
	if (top) {
		if (p->nheap) {
			memcpy(top, p->heap, p->nheap * sizeof(*top));
			qsort(top, p->nheap, sizeof(*top), cmp_slow);
		}
	}
	if (json) {
		fputs("{\"name\": ", f);
		fmt_json_str(f, p->spec->name);
		fputs(", \"begin\": ", f);
		fmt_json_str(f, p->spec->begin);
		fputs(", \"end\": ", f);
		fmt_json_str(f, p->spec->end);
		fputs(", \"key\": [", f);
		for (int i = 0; i < p->spec->nfields; i++) {
			fputs(i ? ", " : "", f);
			fmt_json_str(f, p->spec->fields[i]);
		}
		fprintf(f, "], \"count\": %llu, \"min_ns\": %llu, \"avg_ns\": %.1f, \"max_ns\": %llu, "
			   "\"stddev_ns\": %.1f, \"threshold_ns\": %llu, \"over_threshold\": %llu, "
			   "\"never_ended\": %zu, \"unmatched_ends\": %llu, \"missing_key\": %llu, "
			   "\"filtered_out\": %llu, \"dropped\": %llu",
			(unsigned long long)s->count, (unsigned long long)s->min, s->mean,
			(unsigned long long)s->max, trace_stat__stddev(s),
			(unsigned long long)p->spec->threshold_ns, (unsigned long long)p->over, ol.n,
			(unsigned long long)p->unmatched, (unsigned long long)p->missing_key,
			(unsigned long long)p->filtered, (unsigned long long)ps.dropped);
		stat_json_percentiles(f, s);
		fputs(",\n   \"slowest\": [", f);
		for (size_t i = 0; top && i < p->nheap; i++) {
			fprintf(f, "%s{\"begin_ns\": %lld, \"end_ns\": %lld, \"latency_ns\": %llu, "
				   "\"key\": ", i ? ", " : "", (long long)top[i].begin,
				(long long)top[i].end, (unsigned long long)top[i].delay);
			fmt_json_str(f, top[i].key);
			fputc('}', f);
		}
		fputs("],\n   \"never_ended_first\": [", f);
		for (size_t i = 0; i < ol.n && i < limit; i++) {
			fprintf(f, "%s{\"begin_ns\": %lld, \"key\": ", i ? ", " : "",
				(long long)ol.v[i].begin);
			fmt_json_str(f, ol.v[i].key);
			fputc('}', f);
		}
		fputs("]", f);
		if (p->a->o->freq) {
			fputs(",\n   \"freq\": ", f);
			stat_freq_print(f, p->spec->name, s, p->a->o->freq, true);
		}
		fputs("}", f);
		goto out;
	}
	fputs("Pair ", f);
	fmt_text_str(f, p->spec->name);
	fputs(": ", f);
	fmt_text_str(f, p->spec->begin);
	fputs(" .. ", f);
	fmt_text_str(f, p->spec->end);
	fputs(", key", f);
	for (int i = 0; i < p->spec->nfields; i++) {
		fputs(i ? "," : " ", f);
		fmt_text_str(f, p->spec->fields[i]);
	}
	fprintf(f, " (usec)\n  %8s %12s %12s %12s %12s\n  %8llu %12.3f %12.3f %12.3f %12.3f\n",
		"Count", "Min", "Avg", "Max", "Stdev", (unsigned long long)s->count,
		(double)s->min / 1e3, s->mean / 1e3, (double)s->max / 1e3,
		trace_stat__stddev(s) / 1e3);
	if (p->spec->threshold_ns)
		fprintf(f, "  %llu over the threshold of %.3f us\n", (unsigned long long)p->over,
			(double)p->spec->threshold_ns / 1e3);
	fprintf(f, "  %zu begins never ended, %llu ends without a begin, %llu events without "
		   "the key fields", ol.n, (unsigned long long)p->unmatched,
		(unsigned long long)p->missing_key);
	if (p->filtered)
		fprintf(f, ", %llu left out by filters", (unsigned long long)p->filtered);
	if (ps.dropped)
		fprintf(f, ", %llu begins dropped (more than %d waiting at once)",
			(unsigned long long)ps.dropped, PAIRS_IN_FLIGHT);
	fputs("\n", f);
	if (p->missing_key)
		fputs("  (events without the key fields: is a field misspelt, or a context not "
		      "recorded? e.g. lttng add-context -u -t vtid)\n", f);
	if (top && p->nheap) {
		fprintf(f, "  Slowest:\n  %-18s %-18s %12s  %s\n", "Begin", "End", "Latency(us)", "Key");
		for (size_t i = 0; i < p->nheap; i++) {
			fmt_clock(t1, sizeof(t1), top[i].begin);
			fmt_clock(t2, sizeof(t2), top[i].end);
			fprintf(f, "  %-18s %-18s %12.3f  %s\n", t1, t2, (double)top[i].delay / 1e3,
				top[i].key);
		}
	}
	if (p->a->o->freq)
		stat_freq_print(f, p->spec->name, s, p->a->o->freq, false);
	if (ol.n) {
		fprintf(f, "  Never ended (first %zu):\n", ol.n < limit ? ol.n : limit);
		for (size_t i = 0; i < ol.n && i < limit; i++) {
			fmt_clock(t1, sizeof(t1), ol.v[i].begin);
			fprintf(f, "  %-18s %s\n", t1, ol.v[i].key);
		}
	}
out:
	free(top);
	free(ol.v);
}

void an_pairs__print(struct an_pairs *a, FILE *f, bool json)
{
	size_t limit = a->o->limit ? a->o->limit : 10;

	if (json)
		fputs("\"pairs\": [", f);
	for (int i = 0; i < a->n; i++) {
		if (json)
			fputs(i ? ",\n  " : "\n  ", f);
		else if (i)
			fputc('\n', f);
		print_one(&a->p[i], f, json, limit);
	}
	if (json)
		fputs("]", f);
	if (a->nomem)
		fputs(json ? "" : "warning: out of memory: some pairs were not counted\n", f);
}
