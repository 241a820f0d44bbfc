/* Trace source over libbabeltrace2: a graph of src.ctf.fs components (one
 * per trace directory found under the input) or one src.ctf.lttng-live,
 * then flt.utils.muxer (time order across streams and traces), then a
 * simple sink of ours that turns messages into struct trace_event.
 *
 * Hot path: per event, one pointer lookup finds our record of the event
 * class (a small open-addressing table keyed by the library's class
 * pointer), the CPU comes from a one-entry packet cache, and fields are read
 * by the index resolved once per class.  No allocation per event. */
#include "trace_source.h"

#include "trace_salvage.h"
#include "units.h"

#include <babeltrace2/babeltrace.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Field references pack a scope and a member index. */
enum { SCOPE_PAYLOAD, SCOPE_SPECIFIC, SCOPE_COMMON, SCOPE_PACKET, SCOPE_N };
#define REF_SHIFT 24
#define REF_MASK ((1 << REF_SHIFT) - 1)

/* Set by SIGINT / SIGTERM while trace_source__run reads. */
static volatile sig_atomic_t interrupted;

struct tcls {
	struct trace_class pub; /* first: trace_class pointers cast back */
	const bt_event_class *bt;
	bool has_clock;
};

struct trace_source {
	struct trace_source_ops ops;
	bt_graph *graph;
	bool live;
	char *err;
	int stop;       /* a callback's non-zero value */
	int cb_error;   /* negative errno from our own consume path */

	/* event classes: open addressing on the bt pointer */
	struct tcls **cls;
	size_t cls_cap, cls_n;
	const bt_event_class *last_bt;
	struct tcls *last_cls;

	/* packet -> cpu cache */
	const bt_packet *last_packet;
	int last_cpu;

	struct trace_source_stats st;

	/* plugins, kept for the source's life (the salvage probes with the
	 * class after a failed graph is gone) */
	const bt_plugin *ctf_plugin, *utils_plugin;
	/* damaged traces read in part (trace_salvage) */
	const bt_component_class_source *fs_cls;
	const char **dirs;     /* the trace directories, or their salvage */
	size_t bad_idx;        /* the one whose component failed */
	char **tmpdirs;
	char **origdirs;      /* what each tmpdir stands for */
	size_t ntmp;
	char stream_name[4096];
	char *warnings;
	bool poisoned;         /* libbabeltrace2 crashed: do not call it again */
};

static void set_err(struct trace_source *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct trace_source *s, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	free(s->err);
	s->err = m;
}

/* Append babeltrace2's error causes (most specific last) to our message,
 * so the person sees what the library found wrong, then release them. */
static void take_bt_error(struct trace_source *s, const char *what)
{
	const bt_error *e = bt_current_thread_take_error();
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);

	if (!f) {
		if (e)
			bt_error_release(e);
		set_err(s, "%s", what);
		return;
	}
	fputs(what, f);
	if (e) {
		uint64_t n = bt_error_get_cause_count(e);

		/* Cause 0 is the deepest (what was wrong with the trace), the
		 * last one the graph's own wrapper: print from the deepest,
		 * leave the wrappers' addresses and statuses out. */
		for (uint64_t i = 0, shown = 0; i < n && shown < 4; i++) {
			const bt_error_cause *c = bt_error_borrow_cause_by_index(e, i);
			const char *m = bt_error_cause_get_message(c);

			if (!m || !*m || strstr(m, "comp-addr=") || strstr(m, "status="))
				continue;
			fprintf(f, "\n  %s", m);
			shown++;
		}
		bt_error_release(e);
	}
	fclose(f);
	free(s->err);
	s->err = msg;
}

/* ---- event classes ------------------------------------------------- */

static size_t ptr_hash(const void *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

static int cls_grow(struct trace_source *s)
{
	size_t ncap = s->cls_cap ? s->cls_cap * 2 : 256;
	struct tcls **n = calloc(ncap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->cls_cap; i++) {
		struct tcls *c = s->cls[i];
		size_t j;

		if (!c)
			continue;
		for (j = ptr_hash(c->bt, ncap); n[j]; j = (j + 1) & (ncap - 1))
			;
		n[j] = c;
	}
	free(s->cls);
	s->cls = n;
	s->cls_cap = ncap;
	return 0;
}

static struct tcls *cls_get(struct trace_source *s, const bt_event_class *bt)
{
	struct tcls *c;
	size_t j;

	if (bt == s->last_bt)
		return s->last_cls;
	if (s->cls_cap) {
		for (j = ptr_hash(bt, s->cls_cap); s->cls[j]; j = (j + 1) & (s->cls_cap - 1))
			if (s->cls[j]->bt == bt)
				goto found;
	}
	if ((s->cls_n + 1) * 2 > s->cls_cap && cls_grow(s))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->bt = bt;
	c->pub.name = bt_event_class_get_name(bt);
	if (!c->pub.name)
		c->pub.name = "(unnamed)";
	c->has_clock = bt_stream_class_borrow_default_clock_class_const(
			       bt_event_class_borrow_stream_class_const(bt)) != NULL;
	for (j = ptr_hash(bt, s->cls_cap); s->cls[j]; j = (j + 1) & (s->cls_cap - 1))
		;
	s->cls[j] = c;
	s->cls_n++;
found:
	s->last_bt = bt;
	s->last_cls = s->cls[j];
	return s->cls[j];
}

static const bt_field_class *scope_class(const bt_event_class *ec, int scope)
{
	const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);

	switch (scope) {
	case SCOPE_PAYLOAD:
		return bt_event_class_borrow_payload_field_class_const(ec);
	case SCOPE_SPECIFIC:
		return bt_event_class_borrow_specific_context_field_class_const(ec);
	case SCOPE_COMMON:
		return bt_stream_class_borrow_event_common_context_field_class_const(sc);
	case SCOPE_PACKET:
		return bt_stream_class_borrow_packet_context_field_class_const(sc);
	}
	return NULL;
}

trace_field_ref trace_class__field(const struct trace_class *cls, const char *name)
{
	const struct tcls *c = (const struct tcls *)cls;

	for (int scope = 0; scope < SCOPE_N; scope++) {
		const bt_field_class *fc = scope_class(c->bt, scope);
		uint64_t n;

		if (!fc || bt_field_class_get_type(fc) != BT_FIELD_CLASS_TYPE_STRUCTURE)
			continue;
		n = bt_field_class_structure_get_member_count(fc);
		for (uint64_t i = 0; i < n && i <= REF_MASK; i++) {
			const bt_field_class_structure_member *m =
				bt_field_class_structure_borrow_member_by_index_const(fc, i);

			if (!strcmp(bt_field_class_structure_member_get_name(m), name))
				return (scope << REF_SHIFT) | (int)i;
		}
	}
	return -ENOENT;
}

static const bt_field *ref_field(const struct trace_event *ev, trace_field_ref ref)
{
	const bt_event *e = ev->impl;
	const bt_field *f = NULL;
	const bt_packet *p;

	if (ref < 0)
		return NULL;
	switch (ref >> REF_SHIFT) {
	case SCOPE_PAYLOAD:
		f = bt_event_borrow_payload_field_const(e);
		break;
	case SCOPE_SPECIFIC:
		f = bt_event_borrow_specific_context_field_const(e);
		break;
	case SCOPE_COMMON:
		f = bt_event_borrow_common_context_field_const(e);
		break;
	case SCOPE_PACKET:
		p = bt_event_borrow_packet_const(e);
		f = p ? bt_packet_borrow_context_field_const(p) : NULL;
		break;
	}
	if (!f)
		return NULL;
	return bt_field_structure_borrow_member_field_by_index_const(f, (uint64_t)(ref & REF_MASK));
}

int trace_event__int_at(const struct trace_event *ev, trace_field_ref ref, int64_t *out)
{
	const bt_field *f = ref_field(ev, ref);
	bt_field_class_type t;

	if (!f)
		return -ENOENT;
	t = bt_field_get_class_type(f);
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
		*out = bt_field_integer_signed_get_value(f);
	else if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
		*out = (int64_t)bt_field_integer_unsigned_get_value(f);
	else
		return -EINVAL;
	return 0;
}

int trace_event__uint_at(const struct trace_event *ev, trace_field_ref ref, uint64_t *out)
{
	int64_t v;
	int r = trace_event__int_at(ev, ref, &v);

	if (!r)
		*out = (uint64_t)v;
	return r;
}

int trace_event__str_at(const struct trace_event *ev, trace_field_ref ref, const char **out)
{
	const bt_field *f = ref_field(ev, ref);

	if (!f)
		return -ENOENT;
	if (bt_field_get_class_type(f) != BT_FIELD_CLASS_TYPE_STRING)
		return -EINVAL;
	*out = bt_field_string_get_value(f);
	return 0;
}

int trace_event__int(const struct trace_event *ev, const char *name, int64_t *out)
{
	return trace_event__int_at(ev, trace_class__field(ev->cls, name), out);
}

int trace_event__uint(const struct trace_event *ev, const char *name, uint64_t *out)
{
	return trace_event__uint_at(ev, trace_class__field(ev->cls, name), out);
}

int trace_event__str(const struct trace_event *ev, const char *name, const char **out)
{
	return trace_event__str_at(ev, trace_class__field(ev->cls, name), out);
}

/* ---- messages ------------------------------------------------------ */

static int packet_cpu(struct trace_source *s, const bt_packet *p)
{
	const bt_field *ctx, *f;
	int cpu = -1;

	if (p == s->last_packet)
		return s->last_cpu;
	ctx = p ? bt_packet_borrow_context_field_const(p) : NULL;
	if (ctx && bt_field_get_class_type(ctx) == BT_FIELD_CLASS_TYPE_STRUCTURE) {
		f = bt_field_structure_borrow_member_field_by_name_const(ctx, "cpu_id");
		if (f && bt_field_class_type_is(bt_field_get_class_type(f),
						BT_FIELD_CLASS_TYPE_INTEGER)) {
			if (bt_field_class_type_is(bt_field_get_class_type(f),
						   BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
				cpu = (int)bt_field_integer_unsigned_get_value(f);
			else
				cpu = (int)bt_field_integer_signed_get_value(f);
		}
	}
	s->last_packet = p;
	s->last_cpu = cpu;
	return cpu;
}

static int on_event(struct trace_source *s, const bt_message *msg)
{
	const bt_event *e = bt_message_event_borrow_event_const(msg);
	struct tcls *c = cls_get(s, bt_event_borrow_class_const(e));
	struct trace_event ev;

	if (!c) {
		s->cb_error = -ENOMEM;
		set_err(s, "out of memory reading the trace");
		return -1;
	}
	ev.cls = &c->pub;
	ev.name = c->pub.name;
	ev.ts_ns = 0;
	if (c->has_clock) {
		const bt_clock_snapshot *cs = bt_message_event_borrow_default_clock_snapshot_const(msg);

		if (bt_clock_snapshot_get_ns_from_origin(cs, &ev.ts_ns))
			ev.ts_ns = 0; /* overflow: cannot happen with LTTng clocks */
	}
	ev.cpu = packet_cpu(s, bt_event_borrow_packet_const(e));
	ev.impl = e;
	if (!s->st.events)
		s->st.first_ns = ev.ts_ns;
	s->st.last_ns = ev.ts_ns;
	s->st.events++;
	if (s->ops.event) {
		int r = s->ops.event(&ev, s->ops.ctx);

		if (r) {
			s->stop = r;
			return -1;
		}
	}
	return 0;
}

static void on_discarded(struct trace_source *s, const bt_message *msg, bool packets)
{
	struct trace_discarded d = { .packets = packets, .stream = "" };
	const bt_stream *st;
	const bt_clock_snapshot *b = NULL, *e = NULL;
	const bt_clock_class *cc;

	if (packets) {
		d.count_known = bt_message_discarded_packets_get_count(msg, &d.count) ==
				BT_PROPERTY_AVAILABILITY_AVAILABLE;
		st = bt_message_discarded_packets_borrow_stream_const(msg);
		cc = bt_message_discarded_packets_borrow_stream_class_default_clock_class_const(msg);
		if (cc && bt_stream_class_discarded_packets_have_default_clock_snapshots(
				  bt_stream_borrow_class_const(st))) {
			b = bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(msg);
			e = bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(msg);
		}
	} else {
		d.count_known = bt_message_discarded_events_get_count(msg, &d.count) ==
				BT_PROPERTY_AVAILABILITY_AVAILABLE;
		st = bt_message_discarded_events_borrow_stream_const(msg);
		cc = bt_message_discarded_events_borrow_stream_class_default_clock_class_const(msg);
		if (cc && bt_stream_class_discarded_events_have_default_clock_snapshots(
				  bt_stream_borrow_class_const(st))) {
			b = bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(msg);
			e = bt_message_discarded_events_borrow_end_default_clock_snapshot_const(msg);
		}
	}
	if (st && bt_stream_get_name(st))
		d.stream = bt_stream_get_name(st);
	/* a salvaged stream: name the user's file, not our scratch copy */
	for (size_t i = 0; i < s->ntmp; i++) {
		size_t n = strlen(s->tmpdirs[i]);

		if (!strncmp(d.stream, s->tmpdirs[i], n) && d.stream[n] == '/') {
			snprintf(s->stream_name, sizeof(s->stream_name), "%s%s", s->origdirs[i],
				 d.stream + n);
			d.stream = s->stream_name;
			break;
		}
	}
	if (b && e && !bt_clock_snapshot_get_ns_from_origin(b, &d.begin_ns) &&
	    !bt_clock_snapshot_get_ns_from_origin(e, &d.end_ns))
		d.range_known = true;
	s->st.discarded_msgs++;
	if (d.count_known) {
		if (packets)
			s->st.discarded_packets += d.count;
		else
			s->st.discarded_events += d.count;
	}
	if (s->ops.discarded)
		s->ops.discarded(&d, s->ops.ctx);
}

static bt_graph_simple_sink_component_consume_func_status
sink_consume(bt_message_iterator *it, void *data)
{
	struct trace_source *s = data;
	bt_message_array_const msgs;
	uint64_t n = 0, i;
	int stop = 0;

	switch (bt_message_iterator_next(it, &msgs, &n)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
	default:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	for (i = 0; i < n; i++) {
		const bt_message *m = msgs[i];

		if (!stop) {
			switch (bt_message_get_type(m)) {
			case BT_MESSAGE_TYPE_EVENT:
				stop = on_event(s, m);
				break;
			case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
				on_discarded(s, m, false);
				break;
			case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
				on_discarded(s, m, true);
				break;
			case BT_MESSAGE_TYPE_PACKET_END:
				/* the packet may be freed and its address reused */
				if (bt_message_packet_end_borrow_packet_const(m) == s->last_packet)
					s->last_packet = NULL;
				break;
			default:
				break;
			}
		}
		bt_message_put_ref(m);
	}
	return stop ? BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END
		    : BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* ---- graph --------------------------------------------------------- */

/* Trace directories (holding a `metadata` file) under the input. */
static char **found_dirs;
static size_t found_n, found_cap;

static int find_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	if (type == FTW_F && !strcmp(path + ftw->base, "metadata")) {
		char *d;

		if (found_n == found_cap) {
			size_t nc = found_cap ? found_cap * 2 : 8;
			char **n = realloc(found_dirs, nc * sizeof(*n));

			if (!n)
				return -1;
			found_dirs = n;
			found_cap = nc;
		}
		d = strndup(path, ftw->base ? (size_t)ftw->base - 1 : 0);
		if (!d)
			return -1;
		found_dirs[found_n++] = d;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const bt_component_class_source *find_src(struct trace_source *s, const char *plugin,
						 const char *name, const bt_plugin **pl)
{
	const bt_component_class_source *c;

	/* found once (a rebuilt graph reuses it) */
	if (!*pl && bt_plugin_find(plugin, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_FALSE, pl) !=
			    BT_PLUGIN_FIND_STATUS_OK) {
		take_bt_error(s, "");
		set_err(s, "babeltrace2's '%s' plugin is not installed (Debian: apt-get install "
			   "libbabeltrace2-0)", plugin);
		return NULL;
	}
	c = bt_plugin_borrow_source_component_class_by_name_const(*pl, name);
	if (!c)
		set_err(s, "babeltrace2's %s plugin has no source '%s'", plugin, name);
	return c;
}

static int add_source(struct trace_source *s, const bt_component_class_source *cls,
		      const char *name, const char *input, const char *extra_key,
		      const char *extra_val, const bt_component_source **comp)
{
	bt_value *params = bt_value_map_create();
	bt_value *inputs = NULL;
	int r = -ENOMEM;

	if (!params || bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) ||
	    bt_value_array_append_string_element(inputs, input))
		goto out;
	if (extra_key && bt_value_map_insert_string_entry(params, extra_key, extra_val))
		goto out;
	if (bt_graph_add_source_component(s->graph, cls, name, params,
					  s->ops.verbose ? BT_LOGGING_LEVEL_WARNING
							 : BT_LOGGING_LEVEL_NONE,
					  comp) != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		char what[4200];

		snprintf(what, sizeof(what), "%s: cannot read this as a CTF trace%s", input,
			 s->ops.verbose ? "" : " (-v shows babeltrace2's diagnostics)");
		take_bt_error(s, what);
		r = -EINVAL;
		goto out;
	}
	r = 0;
out:
	if (r == -ENOMEM && !s->err)
		set_err(s, "out of memory");
	bt_value_put_ref(params);
	return r;
}

static int connect_all(struct trace_source *s, const bt_component_source *src,
		       const bt_component_filter *mux)
{
	uint64_t n = bt_component_source_get_output_port_count(src);

	for (uint64_t i = 0; i < n; i++) {
		const bt_port_output *out =
			bt_component_source_borrow_output_port_by_index_const(src, i);
		/* the muxer always offers one free input port, the last one */
		uint64_t k = bt_component_filter_get_input_port_count(mux);
		const bt_port_input *in =
			bt_component_filter_borrow_input_port_by_index_const(mux, k - 1);

		if (bt_graph_connect_ports(s->graph, out, in, NULL) !=
		    BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
			take_bt_error(s, "cannot connect the trace's streams to the muxer");
			return -EINVAL;
		}
	}
	return 0;
}

/* trace_salvage's probe: does DIR read as a CTF trace on its own? */
static int probe_dir(const char *dir, void *ctx)
{
	struct trace_source *s = ctx;
	bt_graph *g = bt_graph_create(0);
	bt_value *params = bt_value_map_create();
	bt_value *inputs = NULL;
	const bt_component_source *c;
	int r = -EINVAL;

	if (g && params && !bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) &&
	    !bt_value_array_append_string_element(inputs, dir) &&
	    bt_graph_add_source_component(g, s->fs_cls, "probe", params, BT_LOGGING_LEVEL_NONE,
					  &c) == BT_GRAPH_ADD_COMPONENT_STATUS_OK)
		r = 0;
	bt_current_thread_clear_error();
	bt_value_put_ref(params);
	bt_graph_put_ref(g);
	return r;
}

/* Read DIRS[i] from TMP, its salvage, from now on (the source removes TMP
 * at the end), and keep NOTE for the report's warnings. */
static int use_salvage(struct trace_source *s, size_t i, char *tmp, const char *note)
{
	char **n, *w;

	n = realloc(s->tmpdirs, (s->ntmp + 1) * sizeof(*n));
	if (n)
		s->tmpdirs = n;
	n = n ? realloc(s->origdirs, (s->ntmp + 1) * sizeof(*n)) : NULL;
	if (n)
		s->origdirs = n;
	if (!n || !(s->origdirs[s->ntmp] = strdup(found_dirs[i]))) {
		trace_salvage__remove(tmp);
		set_err(s, "out of memory");
		return -ENOMEM;
	}
	s->tmpdirs[s->ntmp++] = tmp;
	s->dirs[i] = tmp;
	if (asprintf(&w, "%s%s: cannot be read whole:%s", s->warnings ? s->warnings : "",
		     found_dirs[i], note ? note : "") >= 0) {
		free(s->warnings);
		s->warnings = w;
	}
	return 0;
}

/* DIRS[i] did not read whole: substitute the readable part, and say what
 * was left out.  -EINVAL when nothing reads (s->err says why). */
static int salvage_dir(struct trace_source *s, size_t i)
{
	char *note = NULL, *tmp = trace_salvage(found_dirs[i], probe_dir, s, &note);
	int r = tmp ? use_salvage(s, i, tmp, note) : -EINVAL;

	free(note);
	return r;
}

/* Metadata cut short (libbabeltrace2 would loop forever on it): read its
 * complete packets, with a warning; a clear error when none is. */
static int salvage_metadata(struct trace_source *s, size_t i)
{
	char *note = NULL, *tmp = trace_salvage_metadata(found_dirs[i], &note);
	int r;

	if (tmp) {
		r = use_salvage(s, i, tmp, note);
	} else {
		r = errno ? -errno : 0;
		if (r)
			set_err(s, "%s", note ? note : "cannot read the metadata");
	}
	free(note);
	return r;
}

static bool is_url(const char *in)
{
	return !strncmp(in, "net://", 6) || !strncmp(in, "net4://", 7) ||
	       !strncmp(in, "net6://", 7);
}

/* Build the graph; -EAGAIN when the trace s->dirs[s->bad_idx] failed
 * (the graph is then unusable: the caller salvages and builds again). */
static int build_graph(struct trace_source *s, const char *input)
{
	const bt_component_class_source *src_cls;
	const bt_component_class_filter *mux_cls;
	const bt_component_filter *mux = NULL;
	const bt_component_sink *sink = NULL;
	const bt_component_source *src;
	int r = -EINVAL;

	s->graph = bt_graph_create(0);
	if (!s->graph) {
		set_err(s, "out of memory");
		return -ENOMEM;
	}
	if (s->live) {
		src_cls = find_src(s, "ctf", "lttng-live", &s->ctf_plugin);
		if (!src_cls)
			goto out;
		r = add_source(s, src_cls, "live", input, "session-not-found-action",
			       s->ops.live_wait ? "continue" : "end", &src);
		if (r)
			goto out;
	} else {
		src_cls = find_src(s, "ctf", "fs", &s->ctf_plugin);
		if (!src_cls)
			goto out;
	}
	if ((!s->utils_plugin &&
	     bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_FALSE,
			    &s->utils_plugin) != BT_PLUGIN_FIND_STATUS_OK) ||
	    !(mux_cls = bt_plugin_borrow_filter_component_class_by_name_const(s->utils_plugin,
									      "muxer"))) {
		take_bt_error(s, "");
		set_err(s, "babeltrace2's utils.muxer is not installed (Debian: libbabeltrace2-0)");
		goto out;
	}
	if (bt_graph_add_filter_component(s->graph, mux_cls, "mux", NULL, BT_LOGGING_LEVEL_NONE,
					  &mux) != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		take_bt_error(s, "cannot create the muxer");
		goto out;
	}
	if (s->live) {
		r = connect_all(s, src, mux);
		if (r)
			goto out;
	} else {
		s->fs_cls = src_cls;
		for (size_t i = 0; i < found_n; i++) {
			char name[32];

			snprintf(name, sizeof(name), "src%zu", i);
			r = add_source(s, src_cls, name, s->dirs[i], NULL, NULL, &src);
			if (r == -EINVAL) {
				s->bad_idx = i;
				r = -EAGAIN;
			}
			if (r)
				goto out;
			r = connect_all(s, src, mux);
			if (r)
				goto out;
		}
		s->st.traces = (unsigned)found_n;
	}
	r = -EINVAL;
	if (bt_graph_add_simple_sink_component(s->graph, "latrack", NULL, sink_consume, NULL, s,
					       &sink) != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		take_bt_error(s, "cannot create the sink");
		goto out;
	}
	if (bt_graph_connect_ports(
		    s->graph, bt_component_filter_borrow_output_port_by_name_const(mux, "out"),
		    bt_component_sink_borrow_input_port_by_name_const(sink, "in"),
		    NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
		take_bt_error(s, "cannot connect the muxer to the sink");
		goto out;
	}
	r = 0;
out:
	return r;
}

struct trace_source *trace_source__open(const char *input, const struct trace_source_ops *ops,
					char **err)
{
	struct trace_source *s = calloc(1, sizeof(*s));
	struct stat sb;
	int r = -ENOMEM;

	if (err)
		*err = NULL;
	if (!s)
		goto fail_nomsg;
	if (ops)
		memcpy(&s->ops, ops, ops->sz < sizeof(s->ops) ? ops->sz : sizeof(s->ops));
	s->last_cpu = -1;
	s->live = is_url(input);
	if (!s->live) {
		if (stat(input, &sb)) {
			r = -errno;
			set_err(s, "%s: %s", input, strerror(errno));
			goto fail;
		}
		if (!S_ISDIR(sb.st_mode)) {
			r = -ENOTDIR;
			set_err(s, "%s: not a directory; a CTF trace is a directory holding a "
				   "'metadata' file and stream files (LTTng writes them under "
				   "~/lttng-traces/SESSION/)", input);
			goto fail;
		}
		found_n = 0;
		if (nftw(input, find_cb, 32, FTW_PHYS)) {
			r = errno ? -errno : -ENOMEM;
			set_err(s, "%s: cannot walk the directory: %s", input, strerror(-r));
			goto fail;
		}
		if (!found_n) {
			r = -ENOENT;
			set_err(s, "%s: no CTF trace found (no 'metadata' file in it or below); "
				   "give the directory LTTng wrote, e.g. "
				   "~/lttng-traces/SESSION-DATE/kernel, or its parent", input);
			goto fail;
		}
		qsort(found_dirs, found_n, sizeof(*found_dirs), cmp_str);
	}
	if (!s->live) {
		s->dirs = calloc(found_n, sizeof(*s->dirs));
		if (!s->dirs) {
			r = -ENOMEM;
			set_err(s, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < found_n; i++) {
			s->dirs[i] = found_dirs[i];
			r = salvage_metadata(s, i);
			if (r)
				goto fail;
		}
	}
	/* A damaged trace fails its component, and the graph with it: salvage
	 * that trace and build again (at most once per trace). */
	while ((r = build_graph(s, input)) == -EAGAIN) {
		size_t i = s->bad_idx;

		bt_graph_put_ref(s->graph);
		s->graph = NULL;
		if (s->dirs[i] != found_dirs[i] || salvage_dir(s, i)) {
			r = -EINVAL; /* s->err says why the trace does not read */
			break;
		}
		free(s->err);
		s->err = NULL;
	}
	if (r)
		goto fail;
	goto done;
fail:
	if (err && s->err) {
		*err = s->err;
		s->err = NULL;
	}
	trace_source__destroy(s);
	s = NULL;
	errno = -r;
done:
	for (size_t i = 0; i < found_n; i++)
		free(found_dirs[i]);
	free(found_dirs);
	found_dirs = NULL;
	found_n = found_cap = 0;
	return s;
fail_nomsg:
	if (err)
		*err = strdup("out of memory");
	errno = ENOMEM;
	return NULL;
}

void trace_source__destroy(struct trace_source *s)
{
	if (!s)
		return;
	if (!s->poisoned) {
		bt_graph_put_ref(s->graph); /* else leaked on purpose */
		/* components finalized after a failure may leave an error */
		bt_current_thread_clear_error();
	}
	for (size_t i = 0; i < s->cls_cap; i++)
		free(s->cls[i]);
	free(s->cls);
	free(s->err);
	for (size_t i = 0; i < s->ntmp; i++) {
		trace_salvage__remove(s->tmpdirs[i]);
		free(s->origdirs[i]);
	}
	free(s->tmpdirs);
	free(s->origdirs);
	free(s->dirs);
	if (!s->poisoned) {
		bt_plugin_put_ref(s->ctf_plugin);
		bt_plugin_put_ref(s->utils_plugin);
	}
	free(s->warnings);
	free(s);
}

static int run_loop(struct trace_source *s)
{
	uint64_t next_tick = s->ops.tick_ns ? lt_mono_ns() + s->ops.tick_ns : 0;

	for (;;) {
		bt_graph_run_once_status st = bt_graph_run_once(s->graph);

		if (s->stop)
			return s->stop;
		if (s->cb_error)
			return s->cb_error;
		if (interrupted)
			return TRACE_SOURCE_INTERRUPTED;
		if (st == BT_GRAPH_RUN_ONCE_STATUS_OK || st == BT_GRAPH_RUN_ONCE_STATUS_AGAIN ||
		    st == BT_GRAPH_RUN_ONCE_STATUS_END) {
			/* babeltrace2 2.0 can report success yet leave an error
			 * (a damaged event in ctf.fs); the next call would then
			 * abort on a precondition: treat it as the error it is */
			const bt_error *e = bt_current_thread_take_error();

			if (e) {
				bt_current_thread_move_error(e);
				st = BT_GRAPH_RUN_ONCE_STATUS_ERROR;
			}
		}
		switch (st) {
		case BT_GRAPH_RUN_ONCE_STATUS_OK:
			break;
		case BT_GRAPH_RUN_ONCE_STATUS_END:
			return 0;
		case BT_GRAPH_RUN_ONCE_STATUS_AGAIN: {
			/* live: nothing new yet; the relay is polled again */
			struct timespec d = { 0, 100 * 1000 * 1000 };

			nanosleep(&d, NULL);
			break;
		}
		case BT_GRAPH_RUN_ONCE_STATUS_MEMORY_ERROR:
			take_bt_error(s, "out of memory reading the trace");
			return -ENOMEM;
		default:
			take_bt_error(s, s->live ? "reading the live session failed (is lttng-relayd "
						   "running there, its live port open (5344 by "
						   "default), the session name right?)"
						 : "reading the trace failed (truncated or "
						   "corrupted?)");
			return -EIO;
		}
		if (next_tick && lt_mono_ns() >= next_tick) {
			int r = s->ops.tick ? s->ops.tick(s->ops.ctx) : 0;

			if (r)
				return r;
			next_tick = lt_mono_ns() + s->ops.tick_ns;
		}
	}
}

/* libbabeltrace2 2.0 can crash (SIGSEGV, or SIGBUS on a stream file
 * truncated under its mmap) decoding a corrupted trace; its own CLI does.
 * Rather than die, return to trace_source__run with a clear error, so the
 * report of what was read can still be printed.  The library's state is
 * then unknown: the source never calls it again (not even to destroy the
 * graph).  A second fault in the meantime takes the default action. */
static sigjmp_buf crash_jmp;
static volatile sig_atomic_t crash_sig;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1; /* the loop stops after the current batch */
}

static void on_crash(int sig)
{
	crash_sig = sig;
	siglongjmp(crash_jmp, 1);
}

int trace_source__run(struct trace_source *s)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE };
	struct sigaction sa, old[3], si, old_int, old_term;
	int r;

	if (s->poisoned)
		return -EFAULT;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	/* ^C ends the reading, not the program: the report still prints */
	memset(&si, 0, sizeof(si));
	si.sa_handler = on_interrupt;
	sigemptyset(&si.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &si, &old_int);
	sigaction(SIGTERM, &si, &old_term);
	if (sigsetjmp(crash_jmp, 1)) {
		s->poisoned = true;
		set_err(s, "libbabeltrace2 crashed (%s) decoding the trace: the trace is "
			   "corrupted, or babeltrace2 has a bug (does `babeltrace2 TRACE` crash "
			   "too?)", strsignal(crash_sig));
		r = -EFAULT;
	} else {
		r = run_loop(s);
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return r;
}

const char *trace_source__warnings(const struct trace_source *s)
{
	return s->warnings;
}

const char *trace_source__error(const struct trace_source *s)
{
	return s->err ? s->err : "no error";
}

void trace_source__stats(const struct trace_source *s, struct trace_source_stats *out)
{
	*out = s->st;
}
