/* smtp/reply: the one formatter, multi-line replies, enhanced codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "smtp/reply.h"

static const char *fmt(struct buf *b, int code, enum smtp_esc esc, const char *text)
{
	buf_clear(b);
	assert_int_equal(smtp_reply_format(b, code, esc, text), BUF_OK);
	assert_int_equal(buf_append(b, "", 1), BUF_OK);
	return b->data;
}

static void formats(void **st)
{
	struct buf b;
	buf_init(&b, 4096);
	assert_string_equal(fmt(&b, 250, ESC_OTHER_UNDEFINED, "Ok"), "250 2.0.0 Ok\r\n");
	assert_string_equal(fmt(&b, 500, ESC_PROTO_SYNTAX_ERROR, "x"), "500 5.5.2 x\r\n");
	assert_string_equal(fmt(&b, 421, ESC_NET_BAD_CONNECTION, "t"), "421 4.4.2 t\r\n");
	assert_string_equal(fmt(&b, 538, ESC_SEC_ENCRYPTION_REQUIRED, "e"), "538 5.7.11 e\r\n");
	/* 3xx never carries an enhanced code (RFC 3463 has no class 3) */
	assert_string_equal(fmt(&b, 354, ESC_OTHER_UNDEFINED, "go"), "354 go\r\n");
	/* "334 " keeps its space even for an empty challenge */
	assert_string_equal(fmt(&b, 334, ESC_NONE, ""), "334 \r\n");
	assert_string_equal(fmt(&b, 220, ESC_NONE, "mx ESMTP"), "220 mx ESMTP\r\n");
	/* multi-line: the same enhanced code on every line */
	assert_string_equal(fmt(&b, 214, ESC_OTHER_UNDEFINED, "a\nb\nc"),
			    "214-2.0.0 a\r\n214-2.0.0 b\r\n214 2.0.0 c\r\n");
	assert_string_equal(fmt(&b, 250, ESC_NONE, "mx\nPIPELINING"), "250-mx\r\n250 PIPELINING\r\n");
	buf_fini(&b);
}

static void bounded(void **st)
{
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(smtp_reply_format(&b, 250, ESC_OTHER_UNDEFINED, "Ok"), BUF_TOO_BIG);
	buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(formats),
		cmocka_unit_test(bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
