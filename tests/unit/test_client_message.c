/* Unit tests for client/message.c: line ends, dot-stuffing, the built message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/message.h"

static void expect(struct buf *b, const char *want)
{
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
	buf_fini(b);
}

static void test_normalize(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(client_msg_normalize(&b, "a\nb\r\nc\rd", 8), BUF_OK);
	expect(&b, "a\r\nb\r\nc\r\nd\r\n");
	assert_int_equal(client_msg_normalize(&b, "", 0), BUF_OK);
	assert_null(b.data);
	assert_int_equal(client_msg_normalize(&b, "x\r\n", 3), BUF_OK);
	expect(&b, "x\r\n");
}

static void test_dot_stuff(void **state)
{
	struct buf b;
	static const char m[] = ".a\r\nb.\r\n.\r\n..\r\n";

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(client_msg_dot_stuff(&b, m, sizeof(m) - 1), BUF_OK);
	expect(&b, "..a\r\nb.\r\n..\r\n...\r\n.\r\n");
	assert_int_equal(client_msg_dot_stuff(&b, "", 0), BUF_OK);
	expect(&b, ".\r\n");
}

static void test_build(void **state)
{
	static const char *const to[] = { "b@example.org", "c@example.org" };
	struct client_msg_fields f = { "a@example.org", to, 2, "h\xc3\xa9llo", "line\n.dot",
				       "Mon, 1 Jan 2024 00:00:00 +0000", "id@host" };
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(client_msg_build(&b, &f), BUF_OK);
	expect(&b, "From: <a@example.org>\r\n"
		   "To: <b@example.org>,\r\n <c@example.org>\r\n"
		   "Subject: =?UTF-8?B?aMOpbGxv?=\r\n"
		   "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		   "Message-ID: <id@host>\r\n"
		   "\r\n"
		   "line\r\n.dot\r\n");
}

static void test_limit(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(client_msg_normalize(&b, "abcd", 4), BUF_TOO_BIG);
	buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_dot_stuff),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
