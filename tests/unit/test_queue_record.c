/* queue/record.c and queue/retry.c: the on-disk record format (round trips,
 * every corruption detected, every length bounded) and the retry schedule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "queue/record.h"
#include "queue/retry.h"

static void make_msg(struct buf *b, const char *body)
{
	const char *rcpts[] = {"a@example.org", "b@example.org"};
	struct qrec_envelope e = {"ABC123", 1700000000, "s@example.net", QREC_F_8BIT | QREC_F_BINARY, rcpts, 2,
				  strlen(body), false, qrec_crc(0, body, strlen(body))};
	assert_int_equal(qrec_begin(b, QREC_MSG), BUF_OK);
	assert_int_equal(qrec_put_envelope(b, &e), BUF_OK);
	assert_int_equal(buf_append(b, body, strlen(body)), BUF_OK);
	qrec_seal(b, NULL, 0);
}

static void test_msg_round_trip(void **state)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	make_msg(&b, "Subject: x\r\n\r\nhello\r\n");
	enum qrec_type t;
	uint32_t plen;
	assert_int_equal(qrec_header((unsigned char *)b.data, b.len, &t, &plen), QREC_OK);
	assert_int_equal(t, QREC_MSG);
	assert_int_equal(plen + QREC_HDR, b.len);
	assert_true(qrec_check((unsigned char *)b.data, b.len));
	struct qrec_msg m;
	assert_true(qrec_parse_msg((unsigned char *)b.data + QREC_HDR, plen, &m));
	assert_string_equal(m.id, "ABC123");
	assert_int_equal(m.queued_at, 1700000000);
	assert_int_equal(m.from.len, strlen("s@example.net"));
	assert_memory_equal(m.from.p, "s@example.net", m.from.len);
	assert_int_equal(m.flags, QREC_F_8BIT | QREC_F_BINARY);
	assert_int_equal(m.nrcpt, 2);
	const unsigned char *p = m.rcpts;
	size_t n = m.rcpts_len;
	struct qrec_str s;
	assert_true(qrec_next_str(&p, &n, &s));
	assert_memory_equal(s.p, "a@example.org", s.len);
	assert_true(qrec_next_str(&p, &n, &s));
	assert_memory_equal(s.p, "b@example.org", s.len);
	assert_false(qrec_next_str(&p, &n, &s));
	assert_false(m.spill);
	assert_int_equal(m.size, 21);
	assert_memory_equal(m.body, "Subject: x\r\n\r\nhello\r\n", 21);
	buf_fini(&b);
}

/* The body may follow the buffer on disk: seal counts it without a copy. */
static void test_seal_with_body_outside(void **state)
{
	const char *body = "body octets\r\n";
	const char *rcpts[] = {"a@b"};
	struct qrec_envelope e = {"X1", 1, "", 0, rcpts, 1, strlen(body), false,
				  qrec_crc(0, body, strlen(body))};
	struct buf b, whole;
	buf_init(&b, 4096);
	buf_init(&whole, 4096);
	assert_int_equal(qrec_begin(&b, QREC_MSG), BUF_OK);
	assert_int_equal(qrec_put_envelope(&b, &e), BUF_OK);
	qrec_seal(&b, body, strlen(body));
	/* sealed from the body's CRC (as spooling does): the same header */
	unsigned char hdr[QREC_HDR];
	memcpy(hdr, b.data, QREC_HDR);
	memset(b.data + 8, 0, 8);
	qrec_seal_crc(&b, strlen(body), qrec_crc(0, body, strlen(body)));
	assert_memory_equal(b.data, hdr, QREC_HDR);
	buf_append(&whole, b.data, b.len);
	buf_append(&whole, body, strlen(body));
	assert_true(qrec_check((unsigned char *)whole.data, whole.len));
	struct qrec_msg m;
	assert_true(qrec_parse_msg((unsigned char *)whole.data + QREC_HDR, whole.len - QREC_HDR, &m));
	assert_int_equal(m.from.len, 0); /* the null reverse-path <> */
	buf_fini(&b);
	buf_fini(&whole);
}

/* Flipping any bit of a record is noticed (header checks or CRC). */
static void test_every_bit_flip_detected(void **state)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	make_msg(&b, "x");
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b.data[i] ^= (char)(1 << bit);
			enum qrec_type t;
			uint32_t plen;
			bool ok = qrec_header((unsigned char *)b.data, b.len, &t, &plen) == QREC_OK &&
				  plen + QREC_HDR == b.len && qrec_check((unsigned char *)b.data, b.len);
			assert_false(ok);
			b.data[i] ^= (char)(1 << bit);
		}
	}
	buf_fini(&b);
}

/* A torn record (any prefix) is never taken for a whole one. */
static void test_every_truncation_detected(void **state)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	make_msg(&b, "some body\r\n");
	for (size_t n = 0; n < b.len; n++) {
		enum qrec_type t;
		uint32_t plen;
		enum qrec_parse r = qrec_header((unsigned char *)b.data, n, &t, &plen);
		if (n < QREC_HDR)
			assert_int_equal(r, QREC_INCOMPLETE);
		else
			assert_true(plen + QREC_HDR > n);
		assert_false(qrec_check((unsigned char *)b.data, n));
	}
	buf_fini(&b);
}

static void test_bad_payloads(void **state)
{
	struct buf b;
	buf_init(&b, 4096);
	/* an id that could name a path */
	const char *rcpts[] = {"a@b"};
	struct qrec_envelope e = {"../x", 1, "", 0, rcpts, 1, 0, false, 0};
	qrec_begin(&b, QREC_MSG);
	qrec_put_envelope(&b, &e);
	struct qrec_msg m;
	assert_false(qrec_parse_msg((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, &m));
	/* trailing octets after a spill record */
	e.id = "OK1";
	e.spill = true;
	qrec_begin(&b, QREC_MSG);
	qrec_put_envelope(&b, &e);
	assert_true(qrec_parse_msg((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, &m));
	buf_append(&b, "z", 1);
	assert_false(qrec_parse_msg((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, &m));
	/* an inline body whose CRC does not match */
	e.spill = false;
	e.size = 1;
	e.body_crc = 12345;
	qrec_begin(&b, QREC_MSG);
	qrec_put_envelope(&b, &e);
	buf_append(&b, "q", 1);
	assert_false(qrec_parse_msg((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, &m));
	/* flags nobody defined */
	e.flags = 0x80;
	e.spill = true;
	qrec_begin(&b, QREC_MSG);
	qrec_put_envelope(&b, &e);
	assert_false(qrec_parse_msg((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, &m));
	/* a string length past the end */
	unsigned char bad[] = {5, 0, 'A', 'B'};
	assert_false(qrec_parse_msg(bad, sizeof(bad), &m));
	char id[QREC_ID_MAX + 1];
	assert_false(qrec_parse_done(bad, sizeof(bad), id));
	/* a header with a length above the bound */
	unsigned char h[QREC_HDR] = {'P', 'Q', 'R', '1', 'M', 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
	enum qrec_type t;
	uint32_t plen;
	assert_int_equal(qrec_header(h, sizeof(h), &t, &plen), QREC_BAD);
	h[8] = 0;
	h[9] = h[10] = h[11] = 0;
	h[4] = 'Z'; /* unknown type */
	assert_int_equal(qrec_header(h, sizeof(h), &t, &plen), QREC_BAD);
	buf_fini(&b);
}

static void test_state_and_done_round_trip(void **state)
{
	struct buf b;
	buf_init(&b, 4096);
	uint8_t st[3] = {QREC_RCPT_DELIVERED, QREC_RCPT_PENDING, QREC_RCPT_FAILED};
	const char *text[3] = {"250 ok", NULL, "550 5.1.1 no such user"};
	struct qrec_state_out s = {"ID9", 2, 1234, true, 3, st, text};
	assert_int_equal(qrec_begin(&b, QREC_STATE), BUF_OK);
	assert_int_equal(qrec_put_state(&b, &s), BUF_OK);
	qrec_seal(&b, NULL, 0);
	assert_true(qrec_check((unsigned char *)b.data, b.len));
	struct qrec_state r;
	assert_true(qrec_parse_state((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, &r));
	assert_string_equal(r.id, "ID9");
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.next_try, 1234);
	assert_true(r.held);
	const unsigned char *p = r.rcpts;
	size_t n = r.rcpts_len;
	uint8_t x;
	struct qrec_str t;
	assert_true(qrec_next_rcpt(&p, &n, &x, &t));
	assert_int_equal(x, QREC_RCPT_DELIVERED);
	assert_memory_equal(t.p, "250 ok", 6);
	assert_true(qrec_next_rcpt(&p, &n, &x, &t));
	assert_int_equal(t.len, 0);
	assert_true(qrec_next_rcpt(&p, &n, &x, &t));
	assert_int_equal(x, QREC_RCPT_FAILED);
	/* a status out of range */
	b.data[b.len - 1 - strlen(text[2]) - 2] = 7;
	assert_false(qrec_parse_state((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, &r));

	assert_int_equal(qrec_begin(&b, QREC_DONE), BUF_OK);
	assert_int_equal(qrec_put_str(&b, "ID9", 3), BUF_OK);
	qrec_seal(&b, NULL, 0);
	char id[QREC_ID_MAX + 1];
	assert_true(qrec_parse_done((unsigned char *)b.data + QREC_HDR, b.len - QREC_HDR, id));
	assert_string_equal(id, "ID9");
	buf_fini(&b);
}

/* ---- retry ---- */

static void test_retry_default_is_postfix(void **state)
{
	struct queue_retry r;
	queue_retry_defaults(&r);
	/* 5 minutes doubling, capped at 70 minutes */
	uint64_t want[] = {300, 600, 1200, 2400, 4200, 4200, 4200};
	for (uint32_t a = 1; a <= 7; a++)
		assert_int_equal(queue_retry_next(&r, a, 1000, 1000), 1000 + want[a - 1]);
	assert_int_equal(r.max_lifetime, 5 * 86400);
	assert_false(queue_retry_expired(&r, 1000, 1000 + 5 * 86400 - 1));
	assert_true(queue_retry_expired(&r, 1000, 1000 + 5 * 86400));
	assert_false(queue_retry_expired(&r, 2000, 1000)); /* clock went back */
}

static void test_retry_parse(void **state)
{
	struct queue_retry r;
	char err[200];
	queue_retry_defaults(&r);
	assert_int_equal(queue_retry_parse(&r, "30s, 2m,1h", err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(queue_retry_next(&r, 1, 0, 0), 30);
	assert_int_equal(queue_retry_next(&r, 2, 0, 0), 120);
	assert_int_equal(queue_retry_next(&r, 9, 0, 0), 3600);
	assert_int_equal(r.max_lifetime, 5 * 86400); /* kept */
	/* never past the end of the lifetime: the last attempt is made then
	 * (a black-box test saw one 5 s after a 40 s lifetime, up to a whole
	 * retry step with the defaults) */
	r.max_lifetime = 40;
	assert_int_equal(queue_retry_next(&r, 9, 30, 0), 40);
	assert_int_equal(queue_retry_next(&r, 1, 5, 0), 35);
	assert_int_equal(queue_retry_next(&r, 9, 50, 0), 3650); /* past it already: as before */

	assert_int_equal(queue_retry_parse(&r, "10m,5m", err, sizeof(err)), -1);
	assert_string_equal(err, "expected durations like 5m,10m,20m, each at least as long as "
				 "the one before");
	char many[33 * 3 + 1] = "";
	for (int i = 0; i < 33; i++)
		strcat(many, i ? ",1m" : "1m");
	assert_int_equal(queue_retry_parse(&r, many, err, sizeof(err)), -1);
	assert_string_equal(err, "expected at most 32 durations");
	many[32 * 3 - 1] = '\0'; /* 32 steps */
	assert_int_equal(queue_retry_parse(&r, many, err, sizeof(err)), 0);
	assert_int_equal(r.n, 32);
	assert_int_equal(queue_retry_parse(&r, "30s, 2m,1h", err, sizeof(err)), 0);
	assert_int_equal(queue_retry_parse(&r, "", err, sizeof(err)), -1);
	assert_int_equal(queue_retry_parse(&r, NULL, err, sizeof(err)), -1);
	assert_int_equal(queue_retry_parse(&r, "5m,", err, sizeof(err)), -1);
	assert_int_equal(queue_retry_parse(&r, "5m,,6m", err, sizeof(err)), -1);
	assert_int_equal(queue_retry_parse(&r, "5x", err, sizeof(err)), -1);
	assert_int_equal(r.n, 3); /* unchanged by failures */
	uint64_t s;
	assert_int_equal(queue_duration_parse("5d", &s), 0);
	assert_int_equal(s, 432000);
	assert_int_equal(queue_duration_parse("2w", &s), 0);
	assert_int_equal(s, 1209600);
	assert_int_equal(queue_duration_parse("90", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(queue_duration_parse("0", &s), -1);
	assert_int_equal(queue_duration_parse("1h2", &s), -1);
	assert_int_equal(queue_duration_parse("99999999999999999999", &s), -1);
	assert_int_equal(queue_duration_parse("-1", &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_round_trip),
		cmocka_unit_test(test_seal_with_body_outside),
		cmocka_unit_test(test_every_bit_flip_detected),
		cmocka_unit_test(test_every_truncation_detected),
		cmocka_unit_test(test_bad_payloads),
		cmocka_unit_test(test_state_and_done_round_trip),
		cmocka_unit_test(test_retry_default_is_postfix),
		cmocka_unit_test(test_retry_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
