/* DATA and BDAT content readers: see dot.h.
 *
 * Ordinary octets inside a line are copied in runs found with memchr; only
 * CR, LF and a "." at the start of a line go through the state machine, one
 * octet at a time. Nothing is allocated and nothing is buffered except the
 * one or two octets whose meaning depends on the next one (a CR, a leading
 * "." or "." CR), which live in the reader's state. */
#include "smtp/dot.h"

#include <string.h>

enum dot_state {
	DOT_BOL,    /* just after a real CRLF (the DATA command's one at first) */
	DOT_TEXT,   /* inside a line */
	DOT_CR,     /* a CR held until we know whether LF follows */
	DOT_DOT,    /* a "." at the start of a line, held */
	DOT_DOT_CR, /* "." CR at the start of a line, held: LF next is the end */
	DOT_END,    /* <CRLF>.<CRLF> consumed */
};

/* The output of one slow-path octet, built on the side and committed only if
 * it fits, so a full output buffer never leaves the reader half-way through
 * an octet. One octet yields at most 3 (a bare CR normalised, then itself). */
struct step {
	char buf[4];
	size_t n;
	enum smtp_bare_newline bare;
	size_t limit;
	size_t line_len;
	bool long_line;
	bool saw_bare;
};

static void put(struct step *s, char c)
{
	s->buf[s->n++] = c;
	s->line_len++;
	if (s->limit != 0 && s->line_len > s->limit)
		s->long_line = true;
}

static void put_crlf(struct step *s)
{
	put(s, '\r');
	put(s, '\n');
	s->line_len = 0;
}

/* A bare CR or LF. Either policy ends the line for length accounting, so a
 * rejected message is refused for its bare newline, not a phantom long line. */
static void put_bare(struct step *s, char c)
{
	s->saw_bare = true;
	if (s->bare == SMTP_BARE_NORMALIZE) {
		put_crlf(s);
	} else {
		put(s, c);
		s->line_len = 0;
	}
}

/* An octet inside a line. Returns true when it is a CR, held (not output)
 * until the next octet says whether it ends the line. */
static bool text_octet(struct step *s, char c)
{
	if (c == '\r')
		return true;
	if (c == '\n')
		put_bare(s, c); /* no CR before it: a bare LF */
	else
		put(s, c);
	return false;
}

/* Remembers what memchr found during one call, so that each input octet is
 * scanned at most once per searched character whatever the mix of CR and LF
 * (a stream of bare CRs must not turn the scan quadratic). */
struct scan {
	const char *cr, *lf;       /* next CR / LF found, NULL: none before *_to */
	const char *cr_to, *lf_to; /* end of the last search */
};

static const char *scan_next(const char **hit, const char **to, int ch, const char *p,
			     const char *end)
{
	if (*hit != NULL && *hit >= p)
		return *hit;
	const char *from = p;
	if (*hit == NULL && *to > from)
		from = *to; /* [p, *to) is known to hold no ch */
	if (from >= end)
		return NULL;
	*hit = memchr(from, ch, (size_t)(end - from));
	*to = end;
	return *hit;
}

/* Length of the run of octets other than CR and LF at [p, end). */
static size_t ordinary_run(struct scan *sc, const char *p, const char *end)
{
	const char *stop = end;
	const char *cr = scan_next(&sc->cr, &sc->cr_to, '\r', p, end);
	if (cr != NULL && cr < stop)
		stop = cr;
	const char *lf = scan_next(&sc->lf, &sc->lf_to, '\n', p, stop);
	if (lf != NULL && lf < stop)
		stop = lf;
	return (size_t)(stop - p);
}

static void count_run(size_t *line_len, size_t limit, bool *long_line, size_t run)
{
	*line_len += run;
	if (limit != 0 && *line_len > limit)
		*long_line = true;
}

void smtp_dot_reader_init(struct smtp_dot_reader *r, enum smtp_bare_newline bare,
			  size_t text_line_limit)
{
	memset(r, 0, sizeof(*r));
	r->bare = bare;
	r->text_line_limit = text_line_limit;
	r->state = DOT_BOL;
}

/* One octet through the DATA state machine. RFC 5321 §4.5.2: a leading "."
 * is removed unless the line is exactly "." CRLF, which ends the data. Only
 * a real CRLF starts a line: after a bare CR or LF a "." is plain content, so
 * <LF>.<LF>, <LF>.<CRLF>, <CR>.<CR> can never end the message. */
static enum dot_state dot_step(struct step *s, enum dot_state st, char c)
{
	switch (st) {
	case DOT_BOL:
		if (c == '.')
			return DOT_DOT;
		return text_octet(s, c) ? DOT_CR : DOT_TEXT;
	case DOT_TEXT:
		return text_octet(s, c) ? DOT_CR : DOT_TEXT;
	case DOT_CR:
		if (c == '\n') {
			put_crlf(s);
			return DOT_BOL;
		}
		put_bare(s, '\r');
		return text_octet(s, c) ? DOT_CR : DOT_TEXT;
	case DOT_DOT:
		/* The dot was stuffing: drop it, the octet is content
		 * (an LF here is bare: <CRLF>.<LF> is not the end). */
		if (c == '\r')
			return DOT_DOT_CR;
		return text_octet(s, c) ? DOT_CR : DOT_TEXT;
	case DOT_DOT_CR:
		if (c == '\n')
			return DOT_END;
		/* "." CR x: the dot was stuffing and the CR is bare. */
		put_bare(s, '\r');
		return text_octet(s, c) ? DOT_CR : DOT_TEXT;
	case DOT_END:
		break;
	}
	return DOT_END;
}

enum smtp_dot_status smtp_dot_decode(struct smtp_dot_reader *r, const char *in, size_t len,
				     size_t *used, char *out, size_t out_cap, size_t *produced)
{
	size_t i = 0, o = 0;
	struct scan sc = { NULL, NULL, in, in };

	while (i < len && r->state != DOT_END) {
		size_t avail = out_cap - o;
		if (r->state == DOT_TEXT) {
			size_t win = len - i < avail ? len - i : avail;
			size_t run = ordinary_run(&sc, in + i, in + i + win);
			if (run > 0) {
				memcpy(out + o, in + i, run);
				o += run;
				i += run;
				count_run(&r->line_len, r->text_line_limit, &r->long_line, run);
				continue;
			}
		}
		struct step s = {
			.bare = r->bare,
			.limit = r->text_line_limit,
			.line_len = r->line_len,
			.long_line = r->long_line,
			.saw_bare = r->saw_bare,
		};
		enum dot_state next = dot_step(&s, (enum dot_state)r->state, in[i]);
		if (s.n > avail)
			break; /* out is full; this octet waits for the next call */
		if (s.n > 0)
			memcpy(out + o, s.buf, s.n);
		o += s.n;
		i++;
		r->state = next;
		r->line_len = s.line_len;
		r->long_line = s.long_line;
		r->saw_bare = s.saw_bare;
	}
	r->size += o;
	*used = i;
	*produced = o;
	return r->state == DOT_END ? SMTP_DOT_END : SMTP_DOT_MORE;
}

void smtp_bdat_reader_init(struct smtp_bdat_reader *r, enum smtp_bare_newline bare,
			   size_t text_line_limit, bool binary)
{
	memset(r, 0, sizeof(*r));
	r->bare = bare;
	r->text_line_limit = text_line_limit;
	r->binary = binary;
}

static void bdat_step_init(struct step *s, const struct smtp_bdat_reader *r)
{
	memset(s, 0, sizeof(*s));
	s->bare = r->bare;
	s->limit = r->text_line_limit;
	s->line_len = r->line_len;
	s->long_line = r->long_line;
	s->saw_bare = r->saw_bare;
}

static void bdat_commit(struct smtp_bdat_reader *r, const struct step *s)
{
	r->line_len = s->line_len;
	r->long_line = s->long_line;
	r->saw_bare = s->saw_bare;
}

void smtp_bdat_decode(struct smtp_bdat_reader *r, const char *in, size_t len, size_t *used,
		      char *out, size_t out_cap, size_t *produced)
{
	size_t i = 0, o = 0;

	if (r->binary) {
		/* BINARYMIME (RFC 3030 §3): stored untouched, no line rules. */
		o = len < out_cap ? len : out_cap;
		if (o > 0)
			memcpy(out, in, o);
		r->size += o;
		*used = o;
		*produced = o;
		return;
	}
	struct scan sc = { NULL, NULL, in, in };
	while (i < len) {
		size_t avail = out_cap - o;
		if (!r->pending_cr) {
			size_t win = len - i < avail ? len - i : avail;
			size_t run = ordinary_run(&sc, in + i, in + i + win);
			if (run > 0) {
				memcpy(out + o, in + i, run);
				o += run;
				i += run;
				count_run(&r->line_len, r->text_line_limit, &r->long_line, run);
				continue;
			}
		}
		struct step s;
		bdat_step_init(&s, r);
		bool cr;
		if (r->pending_cr && in[i] == '\n') {
			put_crlf(&s);
			cr = false;
		} else {
			if (r->pending_cr)
				put_bare(&s, '\r');
			cr = text_octet(&s, in[i]);
		}
		if (s.n > avail)
			break;
		if (s.n > 0)
			memcpy(out + o, s.buf, s.n);
		o += s.n;
		i++;
		r->pending_cr = cr;
		bdat_commit(r, &s);
	}
	r->size += o;
	*used = i;
	*produced = o;
}

size_t smtp_bdat_finish(struct smtp_bdat_reader *r, char *out, size_t out_cap)
{
	if (r->binary || !r->pending_cr)
		return 0;
	struct step s;
	bdat_step_init(&s, r);
	put_bare(&s, '\r');
	if (s.n > out_cap)
		return 0; /* still pending: call again with room for 2 octets */
	memcpy(out, s.buf, s.n);
	r->pending_cr = false;
	bdat_commit(r, &s);
	r->size += s.n;
	return s.n;
}
