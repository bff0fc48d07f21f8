/* libFuzzer target for the DATA and BDAT readers.
 *
 * Byte 0 picks the knobs: bit 0 the bare-newline policy, bit 1 a small line
 * limit, bits 2-4 the output buffer (4..11 octets), bits 5-7 with the length
 * the seed of the split pattern. The rest is the content. Checks:
 * - a one-shot decode equals a naive whole-buffer reference decoder, flags
 *   included;
 * - the split decode with a tiny output buffer equals the one-shot decode,
 *   status, consumption, size and flags included;
 * - used <= offered, produced <= out_cap, progress whenever out_cap >= 4;
 * - normalised output holds no bare CR or LF, and re-stuffing it gives an
 *   input that decodes back to it (the end marker cannot be forged);
 * - BDAT: the same, and in reject or binary mode the output is the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/dot.h"

#define CHECK(x)                                                                             \
	do {                                                                                 \
		if (!(x))                                                                    \
			__builtin_trap();                                                    \
	} while (0)

struct knobs {
	enum smtp_bare_newline bare;
	size_t limit;
	size_t ocap;
	uint32_t seed;
};

static size_t next_chunk(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) % 18; /* 0..17: empty pieces too */
}

/* The reference decoders: the rules written the obvious way, with the whole
 * input in view, sharing no code with dot.c. */
struct ref {
	enum smtp_bare_newline bare;
	size_t limit;
	char *out;
	size_t n;
	size_t line_len; /* stored octets of the current line, newline included */
	bool saw_bare, long_line;
};

static void ref_put(struct ref *f, char c)
{
	f->out[f->n++] = c;
	if (f->limit != 0 && ++f->line_len > f->limit)
		f->long_line = true;
}

static void ref_crlf(struct ref *f)
{
	ref_put(f, '\r');
	ref_put(f, '\n');
	f->line_len = 0;
}

static void ref_bare(struct ref *f, char c)
{
	f->saw_bare = true;
	if (f->bare == SMTP_BARE_NORMALIZE)
		ref_crlf(f);
	else
		ref_put(f, c);
	f->line_len = 0;
}

/* Octets whose meaning depends on input not yet seen produce nothing. */
static enum smtp_dot_status ref_dot(struct ref *f, const char *in, size_t len, size_t *used)
{
	size_t i = 0;
	bool bol = true;
	while (i < len) {
		if (bol && in[i] == '.') {
			if (i + 1 >= len || (in[i + 1] == '\r' && i + 2 >= len))
				break;
			if (in[i + 1] == '\r' && in[i + 2] == '\n') {
				*used = i + 3;
				return SMTP_DOT_END;
			}
			i++; /* stuffing */
		}
		char c = in[i];
		if (c == '\r') {
			if (i + 1 >= len)
				break;
			if (in[i + 1] == '\n') {
				ref_crlf(f);
				i += 2;
				bol = true;
				continue;
			}
			ref_bare(f, c);
		} else if (c == '\n') {
			ref_bare(f, c);
		} else {
			ref_put(f, c);
		}
		i++;
		bol = false;
	}
	*used = len;
	return SMTP_DOT_MORE;
}

static void ref_bdat(struct ref *f, const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\r' && i + 1 < len && in[i + 1] == '\n') {
			ref_crlf(f);
			i++;
		} else if (c == '\r' || c == '\n') {
			ref_bare(f, c);
		} else {
			ref_put(f, c);
		}
	}
}

static bool no_bare_newline(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			return false;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return false;
	}
	return true;
}

struct result {
	size_t out_len, used;
	enum smtp_dot_status st;
	uint64_t size;
	bool saw_bare, long_line;
};

/* split: feed the input in pieces from the seed, out in k->ocap octets. */
static void run_dot(const struct knobs *k, bool split, const char *in, size_t len, char *out,
		    size_t out_max, struct result *res)
{
	struct smtp_dot_reader r;
	smtp_dot_reader_init(&r, k->bare, k->limit);
	char small[16];
	uint32_t seed = k->seed;
	size_t pos = 0, n = 0;
	size_t arrived = split ? next_chunk(&seed) : len;
	if (arrived > len)
		arrived = len;
	enum smtp_dot_status st;
	for (;;) {
		size_t offered = arrived - pos, used = SIZE_MAX, prod = SIZE_MAX;
		char *obuf = split ? small : out + n;
		size_t ocap = split ? k->ocap : out_max - n;
		st = smtp_dot_decode(&r, in + pos, offered, &used, obuf, ocap, &prod);
		CHECK(used <= offered);
		CHECK(prod <= ocap);
		CHECK(n + prod <= out_max);
		if (split && prod > 0)
			memcpy(out + n, obuf, prod);
		n += prod;
		pos += used;
		if (st == SMTP_DOT_END)
			break;
		if (pos == arrived) {
			if (arrived == len)
				break;
			arrived += next_chunk(&seed);
			if (arrived > len)
				arrived = len;
		} else {
			CHECK(used > 0 || prod > 0);
		}
	}
	res->out_len = n;
	res->used = pos;
	res->st = st;
	res->size = r.size;
	res->saw_bare = r.saw_bare;
	res->long_line = r.long_line;
	CHECK(r.size == n);
}

static void run_bdat(const struct knobs *k, bool binary, bool split, const char *in, size_t len,
		     char *out, size_t out_max, struct result *res)
{
	struct smtp_bdat_reader r;
	smtp_bdat_reader_init(&r, k->bare, k->limit, binary);
	char small[16];
	uint32_t seed = k->seed ^ 0x5a5a5a5au;
	size_t pos = 0, n = 0;
	size_t arrived = split ? next_chunk(&seed) : len;
	if (arrived > len)
		arrived = len;
	for (;;) {
		size_t offered = arrived - pos, used = SIZE_MAX, prod = SIZE_MAX;
		char *obuf = split ? small : out + n;
		size_t ocap = split ? k->ocap : out_max - n;
		smtp_bdat_decode(&r, in + pos, offered, &used, obuf, ocap, &prod);
		CHECK(used <= offered);
		CHECK(prod <= ocap);
		CHECK(n + prod <= out_max);
		if (split && prod > 0)
			memcpy(out + n, obuf, prod);
		n += prod;
		pos += used;
		if (pos == arrived) {
			if (arrived == len)
				break;
			arrived += next_chunk(&seed);
			if (arrived > len)
				arrived = len;
		} else {
			CHECK(used > 0 || prod > 0);
		}
	}
	char *fbuf = split ? small : out + n;
	size_t fcap = split ? k->ocap : out_max - n;
	size_t f = smtp_bdat_finish(&r, fbuf, fcap);
	CHECK(f <= fcap && !r.pending_cr);
	CHECK(n + f <= out_max);
	if (split && f > 0)
		memcpy(out + n, fbuf, f);
	n += f;
	res->out_len = n;
	res->used = pos;
	res->st = SMTP_DOT_MORE;
	res->size = r.size;
	res->saw_bare = r.saw_bare;
	res->long_line = r.long_line;
	CHECK(r.size == n);
}

static bool same(const struct result *a, const char *ao, const struct result *b, const char *bo)
{
	return a->out_len == b->out_len && memcmp(ao, bo, a->out_len) == 0 &&
	       a->used == b->used && a->st == b->st && a->size == b->size &&
	       a->saw_bare == b->saw_bare && a->long_line == b->long_line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct knobs k = {
		.bare = (ctl & 1) ? SMTP_BARE_REJECT : SMTP_BARE_NORMALIZE,
		.limit = (ctl & 2) ? 8 : 0,
		.ocap = 4 + ((ctl >> 2) & 7),
		.seed = (uint32_t)(ctl >> 5) * 2654435761u + (uint32_t)len,
	};
	size_t out_max = 2 * len + 16;
	char *one = malloc(out_max), *two = malloc(out_max), *ref = malloc(out_max);
	char *stuffed = malloc(2 * out_max + 3);
	if (!one || !two || !ref || !stuffed)
		abort();
	struct result a, b;

	/* DATA */
	run_dot(&k, false, in, len, one, out_max, &a);
	struct ref f = { .bare = k.bare, .limit = k.limit, .out = ref };
	size_t ref_used;
	enum smtp_dot_status ref_st = ref_dot(&f, in, len, &ref_used);
	CHECK(a.st == ref_st && a.used == ref_used && a.out_len == f.n);
	CHECK(memcmp(one, ref, f.n) == 0);
	CHECK(a.saw_bare == f.saw_bare && a.long_line == f.long_line);
	if (a.st == SMTP_DOT_END) {
		CHECK(a.used >= 3 && memcmp(in + a.used - 3, ".\r\n", 3) == 0);
		CHECK(a.used == 3 || memcmp(in + a.used - 5, "\r\n", 2) == 0);
	}
	run_dot(&k, true, in, len, two, out_max, &b);
	CHECK(same(&a, one, &b, two));
	if (k.bare == SMTP_BARE_NORMALIZE) {
		CHECK(no_bare_newline(one, a.out_len));
		if (a.st == SMTP_DOT_END) {
			/* re-stuff and decode again: must give the same content */
			size_t sn = 0;
			bool bol = true;
			for (size_t i = 0; i < a.out_len; i++) {
				if (bol && one[i] == '.')
					stuffed[sn++] = '.';
				stuffed[sn++] = one[i];
				bol = one[i] == '\n';
			}
			memcpy(stuffed + sn, ".\r\n", 3);
			sn += 3;
			run_dot(&k, false, stuffed, sn, two, out_max, &b);
			CHECK(b.st == SMTP_DOT_END && b.used == sn && !b.saw_bare);
			CHECK(b.out_len == a.out_len && memcmp(two, one, a.out_len) == 0);
		}
	}

	/* BDAT, text then binary */
	run_bdat(&k, false, false, in, len, one, out_max, &a);
	f = (struct ref){ .bare = k.bare, .limit = k.limit, .out = ref };
	ref_bdat(&f, in, len);
	CHECK(a.out_len == f.n && memcmp(one, ref, f.n) == 0);
	CHECK(a.saw_bare == f.saw_bare && a.long_line == f.long_line);
	if (k.bare == SMTP_BARE_REJECT)
		CHECK(a.out_len == len && memcmp(one, in, len) == 0);
	else
		CHECK(no_bare_newline(one, a.out_len));
	run_bdat(&k, false, true, in, len, two, out_max, &b);
	CHECK(same(&a, one, &b, two));

	run_bdat(&k, true, true, in, len, two, out_max, &b);
	CHECK(b.out_len == len && memcmp(two, in, len) == 0);
	CHECK(!b.saw_bare && !b.long_line && b.used == len);

	free(one);
	free(two);
	free(ref);
	free(stuffed);
	return 0;
}
