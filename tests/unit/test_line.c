/* Command-line framing (src/smtp/line.c): RFC 5321 §2.3.8 line endings,
 * §4.5.3.1.4 line limit, SPEC §1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "smtp/line.h"

struct res {
	enum smtp_line_status st;
	const char *line;
	size_t line_len;
	size_t used;
};

static struct res next(struct smtp_line_reader *r, const char *in, size_t len)
{
	struct res x;
	x.st = smtp_line_next(r, in, len, &x.line, &x.line_len, &x.used);
	assert_true(x.used <= len);
	if (x.st == SMTP_LINE_OK)
		assert_true(x.line >= in && x.line + x.line_len <= in + len);
	else
		assert_null(x.line);
	return x;
}

static struct res next_str(struct smtp_line_reader *r, const char *s)
{
	return next(r, s, strlen(s));
}

/* A heap copy of n filler octets followed by tail, so ASan sees any overread. */
static char *make(size_t n, char fill, const char *tail, size_t *len)
{
	size_t tl = strlen(tail);
	char *p = malloc(n + tl);
	assert_non_null(p);
	memset(p, fill, n);
	memcpy(p + n, tail, tl);
	*len = n + tl;
	return p;
}

static size_t put(char *dst, size_t off, const char *src, size_t n)
{
	memcpy(dst + off, src, n);
	return off + n;
}

static void assert_ok(struct res x, const char *want, size_t used)
{
	assert_int_equal(x.st, SMTP_LINE_OK);
	assert_int_equal(x.line_len, strlen(want));
	assert_memory_equal(x.line, want, x.line_len);
	assert_int_equal(x.used, used);
}

static void test_simple(void **state)
{
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	assert_ok(next_str(&r, "NOOP\r\n"), "NOOP", 6);
	assert_ok(next_str(&r, "\r\n"), "", 2);
	assert_ok(next_str(&r, "MAIL FROM:<a@b>\r\nRCPT"), "MAIL FROM:<a@b>", 17);
}

static void test_need_more(void **state)
{
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	struct res x = next(&r, "", 0);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	x = next_str(&r, "NOOP");
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	/* a CR at the end may yet be followed by LF */
	x = next_str(&r, "NOOP\r");
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	x = next_str(&r, "NO\rOP");
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	assert_false(r.discarding);
}

static void test_never_past_len(void **state)
{
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	const char *s = "NOOP\r\nQUIT\r\n";
	char *p = malloc(5);
	assert_non_null(p);
	memcpy(p, s, 5);
	struct res x = next(&r, p, 5);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	free(p);
	/* the LF just past len must not be seen */
	x = next(&r, s, 5);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_ok(next(&r, s, 6), "NOOP", 6);
}

static void test_limit_boundary(void **state)
{
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 512, false);

	/* 510 octets + CRLF = 512: the largest line allowed */
	char *p = make(510, 'a', "\r\n", &len);
	struct res x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_OK);
	assert_int_equal(x.line_len, 510);
	assert_int_equal(x.used, 512);
	free(p);

	/* 511 octets + CRLF = 513: too long, all consumed, not discarding */
	p = make(511, 'a', "\r\n", &len);
	x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_TOO_LONG);
	assert_int_equal(x.used, 513);
	assert_false(r.discarding);
	free(p);
	assert_ok(next_str(&r, "QUIT\r\n"), "QUIT", 6);
}

static void test_limit_configured(void **state)
{
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 1062, false);
	assert_int_equal(r.limit, 1062);
	char *p = make(1060, 'a', "\r\n", &len);
	assert_int_equal(next(&r, p, len).st, SMTP_LINE_OK);
	free(p);
	p = make(1061, 'a', "\r\n", &len);
	assert_int_equal(next(&r, p, len).st, SMTP_LINE_TOO_LONG);
	free(p);

	/* the AUTH exchange limit of SPEC §1 */
	smtp_line_reader_init(&r, 12288, false);
	p = make(12286, 'A', "\r\n", &len);
	assert_int_equal(next(&r, p, len).st, SMTP_LINE_OK);
	free(p);
	p = make(12287, 'A', "\r\n", &len);
	assert_int_equal(next(&r, p, len).st, SMTP_LINE_TOO_LONG);
	free(p);
}

static void test_limit_clamped(void **state)
{
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 10, false);
	assert_int_equal(r.limit, SMTP_LINE_MIN);
	assert_false(r.lenient);
	assert_false(r.discarding);
	char *p = make(510, 'a', "\r\n", &len);
	assert_int_equal(next(&r, p, len).st, SMTP_LINE_OK);
	free(p);
}

static void test_full_buffer_without_lf(void **state)
{
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 512, false);

	/* 511 octets could still be 510 + CR, then LF: wait */
	char *p = make(511, 'a', "", &len);
	struct res x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	assert_false(r.discarding);
	free(p);

	/* 512 octets without LF cannot fit: dropped, discarding */
	p = make(512, 'a', "", &len);
	x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 512);
	assert_true(r.discarding);
	free(p);
	x = next_str(&r, "\n");
	assert_int_equal(x.st, SMTP_LINE_TOO_LONG);
	assert_int_equal(x.used, 1);
	assert_false(r.discarding);

	/* 511 + CR fills the buffer; the LF comes in the next read */
	p = make(511, 'a', "\r", &len);
	x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 512);
	assert_true(r.discarding);
	free(p);
	x = next_str(&r, "\nNOOP\r\n");
	assert_int_equal(x.st, SMTP_LINE_TOO_LONG);
	assert_int_equal(x.used, 1);
	assert_ok(next_str(&r, "NOOP\r\n"), "NOOP", 6);
}

static void test_discard_across_calls(void **state)
{
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 512, false);

	char *p = make(300, 'a', "", &len);
	struct res x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	free(p);

	/* the caller appended 300 more */
	p = make(600, 'a', "", &len);
	x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 600);
	assert_true(r.discarding);
	free(p);

	for (int i = 0; i < 3; i++) {
		p = make(1000, 'b', "", &len);
		x = next(&r, p, len);
		assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
		assert_int_equal(x.used, 1000);
		assert_true(r.discarding);
		free(p);
	}
	/* a CR alone, an empty read: still discarding */
	x = next_str(&r, "\r");
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 1);
	x = next(&r, "", 0);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	assert_true(r.discarding);

	/* the end of the long line; the next line is untouched */
	const char *tail = "ccc\r\nQUIT\r\n";
	x = next_str(&r, tail);
	assert_int_equal(x.st, SMTP_LINE_TOO_LONG);
	assert_int_equal(x.used, 5);
	assert_false(r.discarding);
	assert_ok(next_str(&r, tail + 5), "QUIT", 6);
}

static void test_discard_ends_on_bare_lf(void **state)
{
	/* the rest of an over-long line goes up to the next LF, in any mode */
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 512, false);
	char *p = make(700, 'a', "", &len);
	assert_int_equal(next(&r, p, len).st, SMTP_LINE_NEED_MORE);
	free(p);
	struct res x = next_str(&r, "x\nNOOP\r\n");
	assert_int_equal(x.st, SMTP_LINE_TOO_LONG);
	assert_int_equal(x.used, 2);
}

static void test_pipelined(void **state)
{
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	const char *in = "EHLO client.example\r\nMAIL FROM:<a@b.example>\r\n"
			 "RCPT TO:<c@d.example>\r\nDATA\r\nQUI";
	const char *want[] = { "EHLO client.example", "MAIL FROM:<a@b.example>",
			       "RCPT TO:<c@d.example>", "DATA" };
	size_t off = 0, len = strlen(in);
	for (size_t i = 0; i < 4; i++) {
		struct res x = next(&r, in + off, len - off);
		assert_ok(x, want[i], strlen(want[i]) + 2);
		assert_ptr_equal(x.line, in + off);
		off += x.used;
	}
	struct res x = next(&r, in + off, len - off);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	assert_int_equal(len - off, 3);
}

static void test_pipelined_with_bad_lines(void **state)
{
	/* SPEC §1: each bad line of a batch gets its own answer, in order */
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	char in[2048];
	size_t n = 0;
	n = put(in, n, "NOOP\r\n", 6);
	memset(in + n, 'x', 600);
	n = put(in, n + 600, "\r\nRSET\n", 7);
	n = put(in, n, "VR\0FY\r\n", 7);
	memset(in + n, 'y', 520);
	n = put(in, n + 520, "\r\nQUIT\r\n", 8);

	enum smtp_line_status want[] = { SMTP_LINE_OK, SMTP_LINE_TOO_LONG, SMTP_LINE_BAD_ENDING,
					 SMTP_LINE_BAD_OCTET, SMTP_LINE_TOO_LONG, SMTP_LINE_OK };
	size_t used[] = { 6, 602, 5, 7, 522, 6 };
	size_t off = 0;
	for (size_t i = 0; i < 6; i++) {
		struct res x = next(&r, in + off, n - off);
		assert_int_equal(x.st, want[i]);
		assert_int_equal(x.used, used[i]);
		off += x.used;
	}
	assert_int_equal(off, n);
	assert_false(r.discarding);
}

static void test_bare_lf_strict(void **state)
{
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	const char *in = "NOOP\nQUIT\r\n";
	struct res x = next_str(&r, in);
	assert_int_equal(x.st, SMTP_LINE_BAD_ENDING);
	assert_int_equal(x.used, 5);
	assert_ok(next_str(&r, in + 5), "QUIT", 6);
	x = next_str(&r, "\n");
	assert_int_equal(x.st, SMTP_LINE_BAD_ENDING);
	assert_int_equal(x.used, 1);
}

static void test_bare_cr_strict(void **state)
{
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	struct res x = next_str(&r, "NO\rOP\r\n");
	assert_int_equal(x.st, SMTP_LINE_BAD_ENDING);
	assert_int_equal(x.used, 7);
	x = next_str(&r, "NOOP\r\r\n");
	assert_int_equal(x.st, SMTP_LINE_BAD_ENDING);
	assert_int_equal(x.used, 7);
	x = next_str(&r, "\rNOOP\r\n");
	assert_int_equal(x.st, SMTP_LINE_BAD_ENDING);
	assert_int_equal(x.used, 7);
	/* CR then text then bare LF: one bad line up to the LF */
	x = next_str(&r, "MAIL FROM:<a@b>\rRCPT TO:<c@d>\nNOOP\r\n");
	assert_int_equal(x.st, SMTP_LINE_BAD_ENDING);
	assert_int_equal(x.used, 30);
}

static void test_nul_and_controls(void **state)
{
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, 512, false);
	const char in[] = "NO\0OP\r\nQUIT\r\n";
	struct res x = next(&r, in, sizeof in - 1);
	assert_int_equal(x.st, SMTP_LINE_BAD_OCTET);
	assert_int_equal(x.used, 7);
	assert_ok(next(&r, in + 7, sizeof in - 1 - 7), "QUIT", 6);

	for (int c = 0; c < 0x100; c++) {
		char buf[8] = { 'N', 'O', (char)c, 'P', '\r', '\n' };
		x = next(&r, buf, 6);
		if (c == '\r' || c == '\n')
			continue; /* endings, tested elsewhere */
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			assert_int_equal(x.st, SMTP_LINE_BAD_OCTET);
			assert_int_equal(x.used, 6);
		} else {
			/* HT, printable ASCII and every octet >= 0x80 (RFC 6531) */
			assert_int_equal(x.st, SMTP_LINE_OK);
			assert_int_equal(x.line_len, 4);
			assert_int_equal((unsigned char)x.line[2], c);
		}
	}
	assert_ok(next_str(&r, "MAIL FROM:<j\xc3\xb6rg@b\xc3\xa4r.example>\r\n"),
		  "MAIL FROM:<j\xc3\xb6rg@b\xc3\xa4r.example>", 32);
}

static void test_precedence(void **state)
{
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 512, false);
	/* too long wins over a NUL or a bare CR inside */
	char *p = make(600, '\0', "\r\r\n", &len);
	assert_int_equal(next(&r, p, len).st, SMTP_LINE_TOO_LONG);
	free(p);
	/* a bad ending wins over a bad octet */
	const char a[] = "A\0B\n";
	assert_int_equal(next(&r, a, 4).st, SMTP_LINE_BAD_ENDING);
	const char b[] = "A\0B\rC\r\n";
	assert_int_equal(next(&r, b, 7).st, SMTP_LINE_BAD_ENDING);
}

static void test_lenient(void **state)
{
	struct smtp_line_reader r;
	size_t len;
	smtp_line_reader_init(&r, 512, true);
	assert_true(r.lenient);
	assert_ok(next_str(&r, "NOOP\nQUIT"), "NOOP", 5);
	assert_ok(next_str(&r, "NOOP\r\n"), "NOOP", 6);
	assert_ok(next_str(&r, "\n"), "", 1);

	const char *in = "EHLO a\nMAIL FROM:<a@b>\r\nDATA\n";
	const char *want[] = { "EHLO a", "MAIL FROM:<a@b>", "DATA" };
	size_t off = 0;
	for (size_t i = 0; i < 3; i++) {
		struct res x = next_str(&r, in + off);
		assert_int_equal(x.st, SMTP_LINE_OK);
		assert_int_equal(x.line_len, strlen(want[i]));
		assert_memory_equal(x.line, want[i], x.line_len);
		off += x.used;
	}
	assert_int_equal(off, strlen(in));

	/* a bare CR ends a line too, as if CRLF (SPEC §1): "NOOP\rNOOP\r\n"
	 * is two lines (it was refused whole), and no line holds a CR */
	struct res x = next_str(&r, "NO\rOP\n");
	assert_ok(x, "NO", 3);
	assert_ok(next_str(&r, "OP\n"), "OP", 3);
	assert_ok(next_str(&r, "NOOP\rNOOP\r\n"), "NOOP", 5);
	assert_ok(next_str(&r, "NOOP\r\n"), "NOOP", 6);
	assert_ok(next_str(&r, "NOOP\r\r\n"), "NOOP", 5);
	assert_ok(next_str(&r, "\r\n"), "", 2);
	/* a CR last in what has come may be half a CR LF: wait for the next octet */
	x = next_str(&r, "NOOP\r");
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 0);
	/* and an over-long line's octets are dropped up to such a CR, kept for
	 * the next octet to say whether it ended the line (the fuzzer found a
	 * CR dropped with them, and two lines taken for one) */
	char *big = make(600, 'a', "\r", &len);
	x = next(&r, big, len);
	assert_int_equal(x.st, SMTP_LINE_NEED_MORE);
	assert_int_equal(x.used, 600);
	assert_true(r.discarding);
	x = next_str(&r, "\rNOOP\n");
	assert_int_equal(x.st, SMTP_LINE_TOO_LONG);
	assert_int_equal(x.used, 1);
	assert_ok(next_str(&r, "NOOP\n"), "NOOP", 5);
	free(big);
	/* control octets too */
	const char nul[] = "NO\0OP\n";
	x = next(&r, nul, 6);
	assert_int_equal(x.st, SMTP_LINE_BAD_OCTET);
	assert_int_equal(x.used, 6);

	/* the limit counts a bare-LF line as if it ended in CRLF */
	char *p = make(510, 'a', "\n", &len);
	x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_OK);
	assert_int_equal(x.line_len, 510);
	assert_int_equal(x.used, 511);
	free(p);
	p = make(511, 'a', "\n", &len);
	x = next(&r, p, len);
	assert_int_equal(x.st, SMTP_LINE_TOO_LONG);
	assert_int_equal(x.used, 512);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_need_more),
		cmocka_unit_test(test_never_past_len),
		cmocka_unit_test(test_limit_boundary),
		cmocka_unit_test(test_limit_configured),
		cmocka_unit_test(test_limit_clamped),
		cmocka_unit_test(test_full_buffer_without_lf),
		cmocka_unit_test(test_discard_across_calls),
		cmocka_unit_test(test_discard_ends_on_bare_lf),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_pipelined_with_bad_lines),
		cmocka_unit_test(test_bare_lf_strict),
		cmocka_unit_test(test_bare_cr_strict),
		cmocka_unit_test(test_nul_and_controls),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_lenient),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
