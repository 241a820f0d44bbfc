/* latrack top: the curses screen.
 *
 * Layout (80x24 and up):
 *   title line (reverse): time, refresh, PAUSED, "? help  q quit"
 *   trackers (the current one in brackets), its threshold and counters
 *   LOST ... (only when a loss counter is non-zero), CHANGE ... (the last
 *   change record; highlighted for a minute)
 *   the class pane: title, column header, rows
 *   the selected class: 1 m / 5 m / 1 h percentiles, power-of-two ranges
 *   the outlier pane: title, column header, rows
 *   the key line (or the filter prompt, or a message)
 * Overlays: help, an outlier's full text (stacks).  No colour is needed:
 * attributes (bold, reverse) carry the meaning, colour only adds to it. */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h> /* before evfmt.h: lt_bpf.h needs __u32 */

#include "evfmt.h"
#include "top.h"
#include "top_trace.h"
#include "units.h"

enum mode { M_MAIN, M_HELP, M_REC, M_FILTER };

struct ui {
	struct top *t;
	enum mode mode;
	bool quit;
	char fbuf[64];     /* filter being typed */
	char *rec_text;    /* the open record (copy) */
	char *rec_json;
	bool rec_as_json;
	int rec_scroll;
	char msg[160];
	uint64_t msg_until;
	int cfirst, ofirst; /* first row shown in each pane */
	int crows, orows;   /* rows of each pane in the last layout */
	struct tlines tl;
};

#define CP_HI   1
#define CP_LOSS 2

static int attr_of(const struct top *t, int a)
{
	int r = 0;

	if (a & TA_BOLD)
		r |= A_BOLD;
	if (a & (TA_REV | TA_SEL))
		r |= A_REVERSE;
	if (a & TA_DIM)
		r |= A_DIM;
	if (a & TA_HI) {
		r |= A_REVERSE | A_BOLD;
		if (t->color)
			r |= COLOR_PAIR(CP_HI);
	}
	if ((a & TA_LOSS) && t->color)
		r |= COLOR_PAIR(CP_LOSS);
	return r;
}

static void put_line(struct ui *u, int y, const struct tline *l, int width)
{
	int a = attr_of(u->t, l->attr), len = (int)strlen(l->s);

	if (y >= LINES)
		return;
	attrset(a);
	mvaddnstr(y, 0, l->s, width);
	if ((l->attr & (TA_REV | TA_SEL | TA_HI)) && len < width)
		for (int x = len; x < width && !(y == LINES - 1 && x == width - 1); x++)
			addch(' ');
	attrset(A_NORMAL);
}

/* Draw lines [0, n) of the buffer from row y; returns the next row. */
static int put_lines(struct ui *u, int y, int max, int width)
{
	for (int i = 0; i < u->tl.n && i < max; i++)
		put_line(u, y + i, &u->tl.v[i], width);
	return y + (u->tl.n < max ? u->tl.n : max);
}

static void set_msg(struct ui *u, const char *m)
{
	snprintf(u->msg, sizeof(u->msg), "%s", m);
	u->msg_until = lt_mono_ns() + 3000000000ull;
}

static int nr_view_rows(const struct top *t)
{
	size_t *idx = NULL, n = top_view_rows(t, t->trk, &idx);

	free(idx);
	return (int)n;
}

static int nr_view_recs(const struct top *t)
{
	const struct top_rec *v[TOP_RECS];

	return top_view_recs(t, t->trk, v, TOP_RECS);
}

static void clamp_first(int *first, int sel, int rows, int n)
{
	if (rows < 1)
		rows = 1;
	if (sel < *first)
		*first = sel;
	if (sel >= *first + rows)
		*first = sel - rows + 1;
	if (*first > n - rows)
		*first = n - rows;
	if (*first < 0)
		*first = 0;
}

static void draw_bottom(struct ui *u, int W)
{
	struct tline l;

	if (u->mode == M_FILTER) {
		l.attr = TA_REV;
		snprintf(l.s, sizeof(l.s), "Filter (process name or pid; Enter: apply, Esc: cancel): %s_", u->fbuf);
		put_line(u, LINES - 1, &l, W);
		return;
	}
	if (u->msg[0] && lt_mono_ns() < u->msg_until) {
		l.attr = TA_REV | TA_BOLD;
		snprintf(l.s, sizeof(l.s), "%s", u->msg);
	} else {
		l.attr = TA_REV;
		snprintf(l.s, sizeof(l.s), "1-6 trk  S sort  m span  / filter  spc pause  Tab pane  "
					   "Enter stacks  ? help  q quit");
	}
	put_line(u, LINES - 1, &l, W);
}

static void draw_main(struct ui *u)
{
	struct top *t = u->t;
	int H = LINES, W = COLS, y, avail, D, nrows, nrecs;
	size_t *idx = NULL, n;
	const struct top_row *sel_row = NULL;

	tl_reset(&u->tl);
	top_pane_title(t, W, &u->tl);
	top_pane_status(t, W, &u->tl);
	y = put_lines(u, 0, H - 1, W);

	avail = H - 1 - y;
	D = avail >= 18 ? 6 : avail >= 13 ? 5 : 3;
	nrows = avail - D - 4;
	if (nrows < 2)
		nrows = 2;
	u->crows = nrows * 55 / 100;
	if (u->crows < 1)
		u->crows = 1;
	u->orows = nrows - u->crows;
	if (u->orows < 1)
		u->orows = 1;

	n = top_view_rows(t, t->trk, &idx);
	if (t->sel_valid && t->sel < (int)n)
		sel_row = &t->rows[idx[t->sel]];
	free(idx);
	clamp_first(&u->cfirst, t->sel, u->crows, (int)n);
	tl_reset(&u->tl);
	top_pane_classes(t, t->trk, W, u->cfirst, u->crows, u->t->focus == 0 && t->sel_valid ? t->sel : -1,
			 &u->tl);
	put_lines(u, y, 2 + u->crows, W);
	y += 2 + u->crows;

	tl_reset(&u->tl);
	top_pane_detail(t, sel_row, W, D, &u->tl);
	put_lines(u, y, D, W);
	y += D;

	nrecs = nr_view_recs(t);
	if (t->osel >= nrecs)
		t->osel = nrecs ? nrecs - 1 : 0;
	clamp_first(&u->ofirst, t->osel, u->orows, nrecs);
	tl_reset(&u->tl);
	top_pane_recs(t, t->trk, W, u->ofirst, u->orows, t->focus == 1 ? t->osel : -1, &u->tl);
	put_lines(u, y, H - 1 - y, W);

	draw_bottom(u, W);
}

static void draw_help(struct ui *u)
{
	tl_reset(&u->tl);
	top_help_lines(&u->tl);
	put_lines(u, 0, LINES, COLS);
}

static void draw_rec(struct ui *u)
{
	const char *txt = u->rec_as_json ? u->rec_json : u->rec_text;
	struct tline l;
	int y = 1, line = 0;

	l.attr = TA_REV;
	snprintf(l.s, sizeof(l.s), "%s  (Esc/q/Enter: back, up/down: scroll, j: %s)",
		 u->rec_as_json ? "the outlier as JSON" : "the outlier with its stacks",
		 u->rec_as_json ? "text" : "JSON");
	put_line(u, 0, &l, COLS);
	for (const char *p = txt ? txt : "(no text)"; *p && y < LINES; line++) {
		size_t len = strcspn(p, "\n");
		char raw[TOP_LINE_MAX];

		if (len >= sizeof(raw))
			len = sizeof(raw) - 1;
		memcpy(raw, p, len);
		raw[len] = 0;
		if (line >= u->rec_scroll) {
			l.attr = TA_NONE;
			top_esc(l.s, sizeof(l.s), raw, len);
			put_line(u, y++, &l, COLS);
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
}

static void draw(struct ui *u)
{
	if (!u->t->paused)
		u->t->rec_shown = u->t->nrec;
	erase();
	if (LINES < 12 || COLS < 40) {
		mvaddstr(0, 0, "latrack top: terminal too small (40x12 at least)");
		refresh();
		return;
	}
	switch (u->mode) {
	case M_HELP: draw_help(u); break;
	case M_REC: draw_rec(u); break;
	default: draw_main(u); break;
	}
	refresh();
}

static void open_rec(struct ui *u, const struct top_rec *r)
{
	free(u->rec_text);
	free(u->rec_json);
	u->rec_text = r->text ? strdup(r->text) : NULL;
	u->rec_json = r->json ? strdup(r->json) : NULL;
	u->rec_scroll = 0;
	u->rec_as_json = false;
	u->mode = M_REC;
}

static void enter(struct ui *u)
{
	struct top *t = u->t;

	if (t->focus == 1) {
		const struct top_rec *v[TOP_RECS];
		int n = top_view_recs(t, t->trk, v, TOP_RECS);

		if (t->osel < n)
			open_rec(u, v[t->osel]);
		else
			set_msg(u, "no outlier to open");
		return;
	}
	if (t->sel_valid) {
		size_t *idx = NULL, n = top_view_rows(t, t->trk, &idx);
		const struct top_row *w = t->sel < (int)n ? &t->rows[idx[t->sel]] : NULL;
		uint64_t first = t->nrec > TOP_RECS ? t->nrec - TOP_RECS + 1 : 1;

		free(idx);
		for (uint64_t s = t->nrec; w && s >= first && s > 0; s--) {
			const struct top_rec *r = &t->recs[(s - 1) % TOP_RECS];

			if (top_rec_matches_row(r, w)) {
				open_rec(u, r);
				return;
			}
		}
	}
	set_msg(u, "no outlier kept for this class (under the threshold?); Tab: the outlier pane");
}

static void move_sel(struct ui *u, int delta, bool abs)
{
	struct top *t = u->t;

	if (t->focus == 1) {
		int n = nr_view_recs(t);

		t->osel = abs ? delta : t->osel + delta;
		if (t->osel >= n)
			t->osel = n - 1;
		if (t->osel < 0)
			t->osel = 0;
		return;
	}
	{
		int n = nr_view_rows(t), s = abs ? delta : t->sel + delta;

		if (s >= n)
			s = n - 1;
		if (s < 0)
			s = 0;
		top_select(t, s);
	}
}

static void set_trk(struct ui *u, int k)
{
	u->t->trk = k;
	u->cfirst = u->ofirst = 0;
	u->t->osel = 0;
	top_select(u->t, 0);
}

static void key_main(struct ui *u, int ch)
{
	struct top *t = u->t;
	static const char trk_keys[] = "swobin";
	const char *p;

	if (ch >= '1' && ch <= '6') {
		set_trk(u, ch - '1');
		return;
	}
	if (ch > 0 && ch < 128 && (p = strchr(trk_keys, ch)) && *p) {
		set_trk(u, (int)(p - trk_keys));
		return;
	}
	switch (ch) {
	case 'q':
		u->quit = true;
		break;
	case '?':
	case 'h':
	case KEY_F(1):
		u->mode = M_HELP;
		break;
	case 'S':
		t->sort = (t->sort + 1) % TOP_SORT_NR;
		top_reselect(t);
		break;
	case 'P': t->sort = TOP_SORT_P99; top_reselect(t); break;
	case 'M': t->sort = TOP_SORT_MAX; top_reselect(t); break;
	case 'C': t->sort = TOP_SORT_COUNT; top_reselect(t); break;
	case 'T': t->sort = TOP_SORT_TIME; top_reselect(t); break;
	case 'm':
		t->span = (t->span + 1) % TOP_SPAN_NR;
		top_reselect(t);
		break;
	case '/':
		snprintf(u->fbuf, sizeof(u->fbuf), "%s", t->filter);
		u->mode = M_FILTER;
		break;
	case ' ':
		t->paused = !t->paused;
		if (!t->paused)
			top_reselect(t);
		break;
	case '\t':
		t->focus = !t->focus;
		break;
	case KEY_UP: case 'k': move_sel(u, -1, false); break;
	case KEY_DOWN: case 'j': move_sel(u, 1, false); break;
	case KEY_PPAGE: move_sel(u, -(t->focus ? u->orows : u->crows), false); break;
	case KEY_NPAGE: move_sel(u, t->focus ? u->orows : u->crows, false); break;
	case KEY_HOME: case 'g': move_sel(u, 0, true); break;
	case KEY_END: case 'G': move_sel(u, 1 << 30, true); break;
	case '\n': case '\r': case KEY_ENTER:
		enter(u);
		break;
	default:
		break;
	}
}

static void key_filter(struct ui *u, int ch)
{
	size_t n = strlen(u->fbuf);

	switch (ch) {
	case 27:
		u->mode = M_MAIN;
		return;
	case '\n': case '\r': case KEY_ENTER:
		snprintf(u->t->filter, sizeof(u->t->filter), "%s", u->fbuf);
		u->mode = M_MAIN;
		u->cfirst = u->ofirst = 0;
		u->t->osel = 0;
		top_select(u->t, 0);
		return;
	case KEY_BACKSPACE: case 127: case 8:
		if (n)
			u->fbuf[n - 1] = 0;
		return;
	case 21: /* ^U */
		u->fbuf[0] = 0;
		return;
	default:
		if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof(u->fbuf)) {
			u->fbuf[n] = (char)ch;
			u->fbuf[n + 1] = 0;
		}
	}
}

static void key_rec(struct ui *u, int ch)
{
	switch (ch) {
	case 27: case 'q': case '\n': case '\r': case KEY_ENTER: case KEY_LEFT:
		u->mode = M_MAIN;
		break;
	case 'j':
		u->rec_as_json = !u->rec_as_json;
		u->rec_scroll = 0;
		break;
	case KEY_UP: case 'k': if (u->rec_scroll) u->rec_scroll--; break;
	case KEY_DOWN: u->rec_scroll++; break;
	case KEY_PPAGE: u->rec_scroll -= LINES - 2; if (u->rec_scroll < 0) u->rec_scroll = 0; break;
	case KEY_NPAGE: case ' ': u->rec_scroll += LINES - 2; break;
	case KEY_HOME: u->rec_scroll = 0; break;
	default: break;
	}
}

static void key(struct ui *u, int ch)
{
	if (ch == KEY_RESIZE)
		return;
	switch (u->mode) {
	case M_HELP:
		u->mode = M_MAIN;
		break;
	case M_FILTER:
		key_filter(u, ch);
		break;
	case M_REC:
		key_rec(u, ch);
		break;
	default:
		key_main(u, ch);
		break;
	}
}

int top_curses_run(struct top *t, long iterations)
{
	struct ui u = { .t = t };
	volatile sig_atomic_t *stop = top_stop_flag();
	long done = 0;
	int ret = 0;

	if (!initscr()) {
		fprintf(stderr, "latrack top: cannot initialise the terminal\n");
		return 1;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	if (t->color && has_colors()) {
		start_color();
		use_default_colors();
		init_pair(CP_HI, COLOR_WHITE, COLOR_RED);
		init_pair(CP_LOSS, COLOR_RED, -1);
	} else {
		t->color = false;
	}
	top_select(t, 0);
	draw(&u);
	while (!*stop && !u.quit) {
		struct pollfd p[2] = {
			{ .fd = top_src_fd(t), .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		int ms = top_src_process(t, lt_mono_ns()), ch;
		bool redraw = false;

		if (ms < 0) {
			endwin();
			fprintf(stderr, "latrack top: %s\n", t->tr ? top_trace__error(t->tr) : strerror(-ms));
			ret = 1;
			goto out;
		}
		if (t->fresh) {
			t->fresh = false;
			redraw = true;
			if (iterations && ++done >= iterations)
				break;
		}
		if (u.msg[0] && lt_mono_ns() >= u.msg_until) {
			u.msg[0] = 0;
			redraw = true;
		}
		if (redraw)
			draw(&u);
		if (u.msg[0] && ms > 500)
			ms = 500;
		if (poll(p, 2, ms) < 0 && errno != EINTR) {
			endwin();
			fprintf(stderr, "latrack top: poll: %s\n", strerror(errno));
			ret = 1;
			goto out;
		}
		redraw = false;
		while ((ch = getch()) != ERR) {
			key(&u, ch);
			redraw = true;
			if (u.quit)
				break;
		}
		if (redraw && !u.quit)
			draw(&u);
	}
	endwin();
out:
	free(u.rec_text);
	free(u.rec_json);
	tl_free(&u.tl);
	return ret;
}
