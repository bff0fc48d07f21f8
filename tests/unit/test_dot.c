/* DATA and BDAT content readers: exact bytes in, exact bytes out. Every
 * case is also replayed with the input cut at every point, in chunks of 1..7
 * octets and with tiny output buffers, and must give the same result. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "smtp/dot.h"

#define S(lit) lit, (sizeof(lit) - 1)
#define ALL SIZE_MAX /* expected used: the whole input */

struct res {
	char *out;
	size_t out_len;
	size_t used;
	enum smtp_dot_status st;
	uint64_t size;
	bool saw_bare;
	bool long_line;
};

struct expect {
	const char *out;
	size_t out_len;
	enum smtp_dot_status st; /* DATA only */
	size_t used;             /* DATA only */
	bool saw_bare;
	bool long_line;
};

/* Feed in[0..len) as a server would: the input arrives in pieces ending at
 * cuts[0..ncuts) (then at len); what the reader leaves unconsumed stays at
 * the front of the buffer, and more is appended once all of it is taken. */
static void dot_feed(enum smtp_bare_newline bare, size_t limit, const char *in, size_t len,
		     const size_t *cuts, size_t ncuts, size_t ocap, struct res *res)
{
	struct smtp_dot_reader r;
	smtp_dot_reader_init(&r, bare, limit);
	size_t out_max = 2 * len + 16;
	res->out = test_malloc(out_max);
	res->out_len = 0;
	char *obuf = test_malloc(ocap);
	size_t pos = 0, k = 0;
	size_t arrived = ncuts > 0 ? cuts[0] : len;
	enum smtp_dot_status st;
	for (;;) {
		size_t used = 99999, prod = 99999;
		st = smtp_dot_decode(&r, in + pos, arrived - pos, &used, obuf, ocap, &prod);
		assert_true(used <= arrived - pos);
		assert_true(prod <= ocap);
		assert_true(res->out_len + prod <= out_max);
		if (prod > 0)
			memcpy(res->out + res->out_len, obuf, prod);
		res->out_len += prod;
		pos += used;
		if (st == SMTP_DOT_END)
			break;
		if (pos == arrived) {
			if (arrived == len)
				break;
			k++;
			arrived = k < ncuts ? cuts[k] : len;
		} else {
			/* out_cap >= 4 must always make progress */
			assert_true(used > 0 || prod > 0);
		}
	}
	test_free(obuf);
	res->used = pos;
	res->st = st;
	res->size = r.size;
	res->saw_bare = r.saw_bare;
	res->long_line = r.long_line;
}

static void bdat_feed(enum smtp_bare_newline bare, size_t limit, bool binary, const char *in,
		      size_t len, const size_t *cuts, size_t ncuts, size_t ocap, struct res *res)
{
	struct smtp_bdat_reader r;
	smtp_bdat_reader_init(&r, bare, limit, binary);
	size_t out_max = 2 * len + 16;
	res->out = test_malloc(out_max);
	res->out_len = 0;
	char *obuf = test_malloc(ocap);
	size_t pos = 0, k = 0;
	size_t arrived = ncuts > 0 ? cuts[0] : len;
	for (;;) {
		size_t used = 99999, prod = 99999;
		smtp_bdat_decode(&r, in + pos, arrived - pos, &used, obuf, ocap, &prod);
		assert_true(used <= arrived - pos);
		assert_true(prod <= ocap);
		assert_true(res->out_len + prod <= out_max);
		if (prod > 0)
			memcpy(res->out + res->out_len, obuf, prod);
		res->out_len += prod;
		pos += used;
		if (pos == arrived) {
			if (arrived == len)
				break;
			k++;
			arrived = k < ncuts ? cuts[k] : len;
		} else {
			assert_true(used > 0 || prod > 0);
		}
	}
	size_t n = smtp_bdat_finish(&r, obuf, ocap);
	assert_true(n <= ocap);
	assert_false(r.pending_cr);
	assert_true(res->out_len + n <= out_max);
	if (n > 0)
		memcpy(res->out + res->out_len, obuf, n);
	res->out_len += n;
	test_free(obuf);
	res->used = pos;
	res->st = SMTP_DOT_MORE;
	res->size = r.size;
	res->saw_bare = r.saw_bare;
	res->long_line = r.long_line;
}

static void check_res(struct res *res, const struct expect *e, bool dot)
{
	assert_int_equal(res->out_len, e->out_len);
	if (e->out_len > 0)
		assert_memory_equal(res->out, e->out, e->out_len);
	assert_int_equal(res->size, e->out_len);
	assert_int_equal(res->saw_bare, e->saw_bare);
	assert_int_equal(res->long_line, e->long_line);
	if (dot) {
		assert_int_equal(res->st, e->st);
		assert_int_equal(res->used, e->used);
	}
	test_free(res->out);
}

/* Runs one case one-shot, cut at every point, and in chunks of 1..7. */
static void check_all(bool dot, enum smtp_bare_newline bare, size_t limit, bool binary,
		      const char *in, size_t len, const struct expect *e)
{
	static const size_t caps[] = { 4, 5, 7 };
	struct res res;
	size_t *cuts = test_malloc((len + 1) * sizeof(*cuts));

#define RUN(cuts_, ncuts_, ocap_)                                                            \
	do {                                                                                 \
		if (dot)                                                                     \
			dot_feed(bare, limit, in, len, (cuts_), (ncuts_), (ocap_), &res);    \
		else                                                                         \
			bdat_feed(bare, limit, binary, in, len, (cuts_), (ncuts_), (ocap_),  \
				  &res);                                                     \
		check_res(&res, e, dot);                                                     \
	} while (0)

	RUN(NULL, 0, 2 * len + 16);
	for (size_t s = 0; s <= len; s++) {
		cuts[0] = s;
		RUN(cuts, 1, 4);
		RUN(cuts, 1, 2 * len + 16);
	}
	for (size_t chunk = 1; chunk <= 7; chunk++) {
		size_t n = 0;
		for (size_t at = chunk; at < len; at += chunk)
			cuts[n++] = at;
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++)
			RUN(cuts, n, caps[c]);
		RUN(cuts, n, 2 * len + 16);
	}
#undef RUN
	test_free(cuts);
}

static void check_dot(enum smtp_bare_newline bare, size_t limit, const char *in, size_t len,
		      const char *out, size_t out_len, enum smtp_dot_status st, size_t used,
		      bool saw_bare, bool long_line)
{
	struct expect e = { out, out_len, st, used == ALL ? len : used, saw_bare, long_line };
	check_all(true, bare, limit, false, in, len, &e);
}

static void check_bdat(enum smtp_bare_newline bare, size_t limit, bool binary, const char *in,
		       size_t len, const char *out, size_t out_len, bool saw_bare, bool long_line)
{
	struct expect e = { out, out_len, SMTP_DOT_MORE, 0, saw_bare, long_line };
	check_all(false, bare, limit, binary, in, len, &e);
}

/* ---- DATA ---- */

static void test_empty_message(void **state)
{
	check_dot(SMTP_BARE_NORMALIZE, 0, S(".\r\n"), S(""), SMTP_DOT_END, 3, false, false);
	/* the first line is empty: the message is one CRLF */
	check_dot(SMTP_BARE_NORMALIZE, 0, S("\r\n.\r\n"), S("\r\n"), SMTP_DOT_END, 5, false,
		  false);
}

static void test_simple_message(void **state)
{
	check_dot(SMTP_BARE_NORMALIZE, 0, S("Subject: hi\r\n\r\nHello. Bye.\r\n.\r\n"),
		  S("Subject: hi\r\n\r\nHello. Bye.\r\n"), SMTP_DOT_END, ALL, false, false);
	/* NUL and 8-bit octets are content like any other */
	check_dot(SMTP_BARE_NORMALIZE, 0, S("a\0b\xff\r\n.\r\n"), S("a\0b\xff\r\n"), SMTP_DOT_END,
		  ALL, false, false);
}

static void test_dot_stuffing(void **state)
{
	check_dot(SMTP_BARE_NORMALIZE, 0, S("..x\r\n...\r\n..\r\n. \r\n.x.\r\n.\r\n"),
		  S(".x\r\n..\r\n.\r\n \r\nx.\r\n"), SMTP_DOT_END, ALL, false, false);
	/* a dot in the middle of a line is never touched */
	check_dot(SMTP_BARE_REJECT, 0, S("a.\r\nb..\r\n.\r\n"), S("a.\r\nb..\r\n"), SMTP_DOT_END,
		  ALL, false, false);
}

struct smuggle {
	const char *in;
	size_t in_len;
	const char *norm;
	size_t norm_len;
	const char *rej;
	size_t rej_len;
	bool bare;
};

/* Every near-miss of <CRLF>.<CRLF> is content; the real end after it is found. */
static void test_smuggling_variants_are_content(void **state)
{
	static const struct smuggle cases[] = {
		/* <LF>.<LF> */
		{ S("a\n.\nb\r\n.\r\n"), S("a\r\n.\r\nb\r\n"), S("a\n.\nb\r\n"), true },
		/* <LF>.<CRLF>, with a smuggled command after it */
		{ S("a\n.\r\nMAIL FROM:<x>\r\n.\r\n"), S("a\r\n.\r\nMAIL FROM:<x>\r\n"),
		  S("a\n.\r\nMAIL FROM:<x>\r\n"), true },
		/* <CRLF>.<LF>: the dot is stuffing, the LF bare */
		{ S("a\r\n.\nb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), S("a\r\n\nb\r\n"), true },
		/* <CR>.<CR> */
		{ S("a\r.\rb\r\n.\r\n"), S("a\r\n.\r\nb\r\n"), S("a\r.\rb\r\n"), true },
		/* <CR>.<CRLF> */
		{ S("a\r.\r\n.\r\n"), S("a\r\n.\r\n"), S("a\r.\r\n"), true },
		/* <CRLF>.<CR>x: dot removed, CR bare */
		{ S("a\r\n.\rb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), S("a\r\n\rb\r\n"), true },
		/* <CRLF>.<CR><CRLF> */
		{ S("a\r\n.\r\r\n.\r\n"), S("a\r\n\r\n\r\n"), S("a\r\n\r\r\n"), true },
		/* <CRLF>.x */
		{ S("a\r\n.x\r\n.\r\n"), S("a\r\nx\r\n"), S("a\r\nx\r\n"), false },
		/* a bare LF at the very start is no line start either */
		{ S("\n.\n.\r\n.\r\n"), S("\r\n.\r\n.\r\n"), S("\n.\n.\r\n"), true },
		/* <CRLF><CR>.<CRLF>: the line is CR "." and not a lone "." */
		{ S("a\r\n\r.\r\n.\r\n"), S("a\r\n\r\n.\r\n"), S("a\r\n\r.\r\n"), true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct smuggle *c = &cases[i];
		check_dot(SMTP_BARE_NORMALIZE, 0, c->in, c->in_len, c->norm, c->norm_len,
			  SMTP_DOT_END, c->in_len, c->bare, false);
		check_dot(SMTP_BARE_REJECT, 0, c->in, c->in_len, c->rej, c->rej_len, SMTP_DOT_END,
			  c->in_len, c->bare, false);
	}
}

static void test_no_end_without_crlf_dot_crlf(void **state)
{
	/* all consumed, no end: the held octets are in the state */
	check_dot(SMTP_BARE_NORMALIZE, 0, S("a\r\n.\r"), S("a\r\n"), SMTP_DOT_MORE, ALL, false,
		  false);
	check_dot(SMTP_BARE_NORMALIZE, 0, S("a\r\n."), S("a\r\n"), SMTP_DOT_MORE, ALL, false,
		  false);
	check_dot(SMTP_BARE_NORMALIZE, 0, S("a\r"), S("a"), SMTP_DOT_MORE, ALL, false, false);
	check_dot(SMTP_BARE_NORMALIZE, 0, S("a\n.\n"), S("a\r\n.\r\n"), SMTP_DOT_MORE, ALL, true,
		  false);
	check_dot(SMTP_BARE_NORMALIZE, 0, S(""), S(""), SMTP_DOT_MORE, 0, false, false);
}

static void test_bare_newlines(void **state)
{
	check_dot(SMTP_BARE_NORMALIZE, 0, S("a\nb\rc\r\r\nd\n\r\n.\r\n"),
		  S("a\r\nb\r\nc\r\n\r\nd\r\n\r\n"), SMTP_DOT_END, ALL, true, false);
	check_dot(SMTP_BARE_REJECT, 0, S("a\nb\rc\r\r\nd\n\r\n.\r\n"), S("a\nb\rc\r\r\nd\n\r\n"),
		  SMTP_DOT_END, ALL, true, false);
	check_dot(SMTP_BARE_REJECT, 0, S("a\r\nb\r\n.\r\n"), S("a\r\nb\r\n"), SMTP_DOT_END, ALL,
		  false, false);
	/* runs of bare CRs */
	check_dot(SMTP_BARE_NORMALIZE, 0, S("\r\r\rx\r\n.\r\n"), S("\r\n\r\n\r\nx\r\n"),
		  SMTP_DOT_END, ALL, true, false);
}

static void test_trailing_data_not_consumed(void **state)
{
	check_dot(SMTP_BARE_NORMALIZE, 0, S("hi\r\n.\r\nQUIT\r\n"), S("hi\r\n"), SMTP_DOT_END, 7,
		  false, false);
	check_dot(SMTP_BARE_NORMALIZE, 0, S(".\r\n.\r\n"), S(""), SMTP_DOT_END, 3, false, false);

	/* after the end, nothing more is consumed */
	struct smtp_dot_reader r;
	char out[16];
	size_t used, prod;
	smtp_dot_reader_init(&r, SMTP_BARE_NORMALIZE, 0);
	assert_int_equal(smtp_dot_decode(&r, S(".\r\nQUIT\r\n"), &used, out, sizeof(out), &prod),
			 SMTP_DOT_END);
	assert_int_equal(used, 3);
	assert_int_equal(prod, 0);
	assert_int_equal(smtp_dot_decode(&r, S("QUIT\r\n"), &used, out, sizeof(out), &prod),
			 SMTP_DOT_END);
	assert_int_equal(used, 0);
	assert_int_equal(prod, 0);
}

/* Builds n copies of c, then tail, into a test_malloc'd buffer. */
static char *build(char lead, size_t lead_n, char c, size_t n, const char *tail, size_t tail_len,
		   size_t *len)
{
	*len = lead_n + n + tail_len;
	char *b = test_malloc(*len);
	memset(b, lead, lead_n);
	memset(b + lead_n, c, n);
	memcpy(b + lead_n + n, tail, tail_len);
	return b;
}

static void test_long_line(void **state)
{
	size_t in_len, out_len;
	char *in, *out;

	/* 998 + CRLF = 1000: allowed */
	in = build('x', 0, 'x', 998, S("\r\n.\r\n"), &in_len);
	out = build('x', 0, 'x', 998, S("\r\n"), &out_len);
	check_dot(SMTP_BARE_NORMALIZE, 1000, in, in_len, out, out_len, SMTP_DOT_END, in_len, false,
		  false);
	/* no limit: nothing is flagged */
	check_dot(SMTP_BARE_NORMALIZE, 0, in, in_len, out, out_len, SMTP_DOT_END, in_len, false,
		  false);
	test_free(in);
	test_free(out);

	/* 999 + CRLF = 1001: flagged, content unchanged */
	in = build('x', 0, 'x', 999, S("\r\nshort\r\n.\r\n"), &in_len);
	out = build('x', 0, 'x', 999, S("\r\nshort\r\n"), &out_len);
	check_dot(SMTP_BARE_NORMALIZE, 1000, in, in_len, out, out_len, SMTP_DOT_END, in_len, false,
		  true);
	test_free(in);
	test_free(out);

	/* the stuffing dot is not part of the stored line (RFC 5321 §4.5.3.1.6) */
	in = build('.', 2, 'x', 997, S("\r\n.\r\n"), &in_len);
	out = build('.', 1, 'x', 997, S("\r\n"), &out_len);
	check_dot(SMTP_BARE_NORMALIZE, 1000, in, in_len, out, out_len, SMTP_DOT_END, in_len, false,
		  false);
	test_free(in);
	test_free(out);

	/* a normalised bare LF ends the line like CRLF */
	in = build('x', 0, 'x', 998, S("\nyy\r\n.\r\n"), &in_len);
	out = build('x', 0, 'x', 998, S("\r\nyy\r\n"), &out_len);
	check_dot(SMTP_BARE_NORMALIZE, 1000, in, in_len, out, out_len, SMTP_DOT_END, in_len, true,
		  false);
	test_free(in);
	test_free(out);

	/* a small limit, to hit the boundary with short inputs */
	check_dot(SMTP_BARE_NORMALIZE, 4, S("ab\r\n.\r\n"), S("ab\r\n"), SMTP_DOT_END, ALL, false,
		  false);
	check_dot(SMTP_BARE_NORMALIZE, 4, S("abc\r\n.\r\n"), S("abc\r\n"), SMTP_DOT_END, ALL, false,
		  true);
}

/* A mix of everything through output buffers of 4 and input chunks of 1..7
 * (check_all does the cutting); here a longer, denser input. */
static void test_splits_and_small_out(void **state)
{
	static const char in[] = "..a\r\n.\n\r\n\r.\r\r\n.\rx\n\n..\r\r\n\r\n.b\r\r\r\n"
				 "x\r\n.\r\nQUIT\r\n";
	/* after a bare LF, ".." is plain content: not unstuffed */
	static const char norm[] = ".a\r\n\r\n\r\n\r\n.\r\n\r\n\r\nx\r\n\r\n"
				   "..\r\n\r\n\r\nb\r\n\r\n\r\nx\r\n";
	static const char rej[] = ".a\r\n\n\r\n\r.\r\r\n\rx\n\n..\r\r\n\r\nb\r\r\r\nx\r\n";
	size_t used = sizeof(in) - 1 - 6;
	check_dot(SMTP_BARE_NORMALIZE, 0, in, sizeof(in) - 1, norm, sizeof(norm) - 1,
		  SMTP_DOT_END, used, true, false);
	check_dot(SMTP_BARE_REJECT, 0, in, sizeof(in) - 1, rej, sizeof(rej) - 1, SMTP_DOT_END,
		  used, true, false);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211u;
	}
	return h;
}

/* 10 MiB of dot-stuffed lines through a 4 KiB input window and a 4 KiB
 * output buffer: the reader needs no more than that, whatever the size. */
static void test_10mib_stream(void **state)
{
	const size_t target = 10u << 20;
	size_t cap = target + 4096;
	char *wire = test_malloc(cap);
	size_t wlen = 0, exp_size = 0;
	uint64_t exp_hash = 14695981039346656037u, seed = 88172645463325252u;
	char line[256];
	while (wlen < target) {
		size_t n = (size_t)(xorshift(&seed) % 200);
		for (size_t i = 0; i < n; i++)
			line[i] = (char)(' ' + xorshift(&seed) % 95);
		if (n > 0 && xorshift(&seed) % 8 == 0)
			line[0] = '.';
		line[n++] = '\r';
		line[n++] = '\n';
		if (line[0] == '.')
			wire[wlen++] = '.';
		memcpy(wire + wlen, line, n);
		wlen += n;
		exp_hash = fnv(exp_hash, line, n);
		exp_size += n;
	}
	memcpy(wire + wlen, ".\r\nQUIT\r\n", 9);
	size_t end_at = wlen + 3;
	wlen += 9;

	struct smtp_dot_reader r;
	smtp_dot_reader_init(&r, SMTP_BARE_REJECT, 1000);
	char out[4096];
	uint64_t hash = 14695981039346656037u;
	size_t pos = 0;
	enum smtp_dot_status st = SMTP_DOT_MORE;
	while (st == SMTP_DOT_MORE && pos < wlen) {
		size_t win = wlen - pos < 4096 ? wlen - pos : 4096;
		size_t used, prod;
		st = smtp_dot_decode(&r, wire + pos, win, &used, out, sizeof(out), &prod);
		assert_true(used > 0 || prod > 0);
		hash = fnv(hash, out, prod);
		pos += used;
	}
	assert_int_equal(st, SMTP_DOT_END);
	assert_int_equal(pos, end_at);
	assert_int_equal(r.size, exp_size);
	assert_true(hash == exp_hash);
	assert_false(r.saw_bare);
	assert_false(r.long_line);
	test_free(wire);
}

/* ---- BDAT ---- */

static void test_bdat_crlf_across_chunks(void **state)
{
	/* check_all cuts at every point, including between CR and LF */
	check_bdat(SMTP_BARE_REJECT, 0, false, S("abc\r\ndef"), S("abc\r\ndef"), false, false);
	check_bdat(SMTP_BARE_NORMALIZE, 0, false, S("abc\r\ndef\r\n"), S("abc\r\ndef\r\n"), false,
		  false);

	/* explicitly: "abc\r" | "\ndef" */
	struct smtp_bdat_reader r;
	char out[16];
	size_t used, prod;
	smtp_bdat_reader_init(&r, SMTP_BARE_REJECT, 0, false);
	smtp_bdat_decode(&r, S("abc\r"), &used, out, sizeof(out), &prod);
	assert_int_equal(used, 4);
	assert_int_equal(prod, 3);
	assert_true(r.pending_cr);
	smtp_bdat_decode(&r, S("\ndef"), &used, out, sizeof(out), &prod);
	assert_int_equal(used, 4);
	assert_int_equal(prod, 5);
	assert_memory_equal(out, "\r\ndef", 5);
	assert_int_equal(smtp_bdat_finish(&r, out, sizeof(out)), 0);
	assert_false(r.saw_bare);
	assert_int_equal(r.size, 8);
}

static void test_bdat_bare_newlines(void **state)
{
	/* no dot handling, no end marker */
	check_bdat(SMTP_BARE_NORMALIZE, 0, false, S(".\r\n..\r\n"), S(".\r\n..\r\n"), false,
		   false);
	check_bdat(SMTP_BARE_NORMALIZE, 0, false, S("a\nb\rc\r\r\n"),
		   S("a\r\nb\r\nc\r\n\r\n"), true, false);
	check_bdat(SMTP_BARE_REJECT, 0, false, S("a\nb\rc\r\r\n"), S("a\nb\rc\r\r\n"), true,
		   false);
	/* a CR at the very end is flushed by finish */
	check_bdat(SMTP_BARE_NORMALIZE, 0, false, S("abc\r"), S("abc\r\n"), true, false);
	check_bdat(SMTP_BARE_REJECT, 0, false, S("abc\r"), S("abc\r"), true, false);
}

static void test_bdat_finish_needs_room(void **state)
{
	struct smtp_bdat_reader r;
	char out[4];
	size_t used, prod;
	smtp_bdat_reader_init(&r, SMTP_BARE_NORMALIZE, 0, false);
	smtp_bdat_decode(&r, S("x\r"), &used, out, sizeof(out), &prod);
	assert_int_equal(smtp_bdat_finish(&r, out, 1), 0);
	assert_true(r.pending_cr);
	assert_int_equal(smtp_bdat_finish(&r, out, 2), 2);
	assert_memory_equal(out, "\r\n", 2);
	assert_false(r.pending_cr);
	assert_int_equal(r.size, 3);
}

static void test_bdat_long_line(void **state)
{
	size_t in_len;
	char *in = build('x', 0, 'x', 998, S("\r\n"), &in_len);
	check_bdat(SMTP_BARE_NORMALIZE, 1000, false, in, in_len, in, in_len, false, false);
	test_free(in);
	in = build('x', 0, 'x', 999, S("\r\n"), &in_len);
	check_bdat(SMTP_BARE_NORMALIZE, 1000, false, in, in_len, in, in_len, false, true);
	test_free(in);
	/* a last line without CRLF still counts: 1000 is the limit, 1001 over */
	in = build('x', 0, 'x', 1000, S(""), &in_len);
	check_bdat(SMTP_BARE_NORMALIZE, 1000, false, in, in_len, in, in_len, false, false);
	test_free(in);
	in = build('x', 0, 'x', 1001, S(""), &in_len);
	check_bdat(SMTP_BARE_NORMALIZE, 1000, false, in, in_len, in, in_len, false, true);
	test_free(in);
}

static void test_bdat_binary(void **state)
{
	/* BINARYMIME: untouched, no bare-newline or line-length accounting */
	check_bdat(SMTP_BARE_NORMALIZE, 2, true, S("a\nb\r\0.\r\nxyz\r"), S("a\nb\r\0.\r\nxyz\r"),
		   false, false);
	check_bdat(SMTP_BARE_REJECT, 2, true, S("\r"), S("\r"), false, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_simple_message),
		cmocka_unit_test(test_dot_stuffing),
		cmocka_unit_test(test_smuggling_variants_are_content),
		cmocka_unit_test(test_no_end_without_crlf_dot_crlf),
		cmocka_unit_test(test_bare_newlines),
		cmocka_unit_test(test_trailing_data_not_consumed),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_splits_and_small_out),
		cmocka_unit_test(test_10mib_stream),
		cmocka_unit_test(test_bdat_crlf_across_chunks),
		cmocka_unit_test(test_bdat_bare_newlines),
		cmocka_unit_test(test_bdat_finish_needs_room),
		cmocka_unit_test(test_bdat_long_line),
		cmocka_unit_test(test_bdat_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
