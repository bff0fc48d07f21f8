/* common/escape and log_quote: the one escaper, in its three styles. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/escape.h"
#include "common/hash.h"
#include "common/log.h"

static void expect(enum esc_style style, const char *in, size_t n, const char *want)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	assert_int_equal(esc_append(&b, style, in, n), BUF_OK);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_fini(&b);
}

static void logfmt(void **st)
{
	(void)st;
	expect(ESC_LOGFMT, "plain text", 10, "plain text");
	expect(ESC_LOGFMT, "a \"b\" \\c", 8, "a \\\"b\\\" \\\\c");
	expect(ESC_LOGFMT, "x\r\n\x7f\x01", 5, "x\\x0d\\x0a\\x7f\\x01");
	expect(ESC_LOGFMT, "caf\xc3\xa9 \xff", 7, "caf\xc3\xa9 \xff"); /* octets >= 0x80 as is */
}

static void json(void **st)
{
	(void)st;
	expect(ESC_JSON, "a\"b\\c\n\t\x1f", 8, "a\\\"b\\\\c\\n\\u0009\\u001f");
	expect(ESC_JSON, "\xe0\xb8\x81\x7f", 4, "\xe0\xb8\x81\x7f");
}

static void terminal(void **st)
{
	(void)st;
	expect(ESC_TERMINAL, "a\"\\\r\n\t", 6, "a\\\"\\\\\\r\\n\\t");
	expect(ESC_TERMINAL, "\0x", 2, "\\0x");
	expect(ESC_TERMINAL, "\x1b[2J\x7f", 5, "\\x1b[2J\\x7f"); /* no escape sequence reaches a tty */
	/* valid UTF-8 as is; overlong, surrogate, truncated and stray octets as \xNN */
	expect(ESC_TERMINAL, "\xe0\xb8\x81\xf0\x9f\x94\x91", 7, "\xe0\xb8\x81\xf0\x9f\x94\x91");
	expect(ESC_TERMINAL, "\xc0\xaf", 2, "\\xc0\\xaf");
	expect(ESC_TERMINAL, "\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	expect(ESC_TERMINAL, "\xe0\xb8", 2, "\\xe0\\xb8");
	expect(ESC_TERMINAL, "\x80", 1, "\\x80");
	expect(ESC_TERMINAL, "\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	/* C1 controls (U+0080..U+009F: U+009B is CSI) as the octets they are */
	expect(ESC_TERMINAL, "\xc2\x9b" "2J\xc2\x80\xc2\x9f\xc2\xa0", 10,
	       "\\xc2\\x9b" "2J\\xc2\\x80\\xc2\\x9f\xc2\xa0");
	expect(ESC_TERMINAL, "\x9b" "1m", 3, "\\x9b" "1m");
	/* text in pieces: a sequence more octets could complete waits for them */
	assert_true(esc_utf8_unfinished((const unsigned char *)"\xe0\xb8", 2));
	assert_true(esc_utf8_unfinished((const unsigned char *)"\xf0", 1));
	assert_false(esc_utf8_unfinished((const unsigned char *)"\xe0\xb8\x81", 3));
	assert_false(esc_utf8_unfinished((const unsigned char *)"\xe0" "a", 2));
	assert_false(esc_utf8_unfinished((const unsigned char *)"\x9b", 1));
}

static void log_quote_bounds(void **st)
{
	char big[64], out[16];
	(void)st;
	assert_string_equal(log_quote(big, sizeof big, "listen = \"x\""), "\"listen = \\\"x\\\"\"");
	/* cut before a piece that does not fit: never half an escape, always closed */
	assert_string_equal(log_quote(out, sizeof out, "aaaaaaaaaaaa\n"), "\"aaaaaaaaaaaa\"");
	assert_string_equal(log_quote(out, sizeof out, "aaaaaaaaaa\nbbb"), "\"aaaaaaaaaa\"");
	assert_string_equal(log_quote(out, sizeof out, "aaaaaaaaa\nb"), "\"aaaaaaaaa\\x0a\"");
	assert_string_equal(log_quote(out, 3, "abc"), "\"\"");
	assert_string_equal(log_quote(out, 2, "abc"), "");
	assert_string_equal(log_quote(out, sizeof out, ""), "\"\"");
}

static void fnv1a(void **st)
{
	(void)st;
	/* the published FNV-1a 64 test vectors */
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "", 0) == UINT64_C(0xcbf29ce484222325));
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "foobar", 6) == UINT64_C(0x85944171f73967e8));
	/* chaining is hashing the concatenation */
	assert_true(hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, "foo", 3), "bar", 3) ==
		    UINT64_C(0x85944171f73967e8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(logfmt),
		cmocka_unit_test(json),
		cmocka_unit_test(terminal),
		cmocka_unit_test(log_quote_bounds),
		cmocka_unit_test(fnv1a),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
