/* Unit tests for client/hostport.c: the HOST[:PORT] argument. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/hostport.h"

static void ok(const char *arg, const char *host, const char *port)
{
	char h[64], p[8];

	assert_int_equal(client_hostport_split(arg, h, sizeof(h), p, sizeof(p), "25"), 0);
	assert_string_equal(h, host);
	assert_string_equal(p, port);
}

static void bad(const char *arg)
{
	char h[64], p[8];

	assert_int_equal(client_hostport_split(arg, h, sizeof(h), p, sizeof(p), "25"), -1);
}

static void test_forms(void **state)
{
	(void)state;
	ok("mail.example", "mail.example", "25");
	ok("mail.example:587", "mail.example", "587");
	ok("127.0.0.1:2525", "127.0.0.1", "2525");
	ok("[::1]:465", "::1", "465");
	ok("[::1]", "::1", "25");
	ok("::1", "::1", "25");                 /* bare IPv6: no port */
	ok("fe80::1:2525", "fe80::1:2525", "25"); /* so this is an address too */
	ok("h:1", "h", "1");
	ok("h:65535", "h", "65535");
}

static void test_malformed(void **state)
{
	(void)state;
	bad("");
	bad(":25");
	bad("host:");
	bad("host:0");
	bad("host:65536");
	bad("host:99999");
	bad("host:123456");
	bad("host:+25");
	bad("host:2a");
	bad("[]:25");
	bad("[::1");
	bad("[::1]25");
	bad("[::1]:");
	bad("[::1]:x");
}

static void test_bounds(void **state)
{
	char h[5], p[3];

	(void)state;
	/* the host and the port must fit with their NUL */
	assert_int_equal(client_hostport_split("abcd:25", h, sizeof(h), p, sizeof(p), "25"), 0);
	assert_string_equal(h, "abcd");
	assert_int_equal(client_hostport_split("abcde:25", h, sizeof(h), p, sizeof(p), "25"), -1);
	assert_int_equal(client_hostport_split("[abcde]", h, sizeof(h), p, sizeof(p), "25"), -1);
	assert_int_equal(client_hostport_split("abc:587", h, sizeof(h), p, sizeof(p), "25"), -1);
	assert_int_equal(client_hostport_split("abc", h, sizeof(h), p, sizeof(p), "587"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
