/* Counting Received fields for loop detection (smtp/hops.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/hops.h"

static unsigned count_of(const char *msg)
{
	struct smtp_hops h;
	smtp_hops_init(&h);
	smtp_hops_feed(&h, msg, strlen(msg));
	return h.count;
}

static void test_counts_header_fields_only(void **state)
{
	(void)state;
	assert_int_equal(count_of("Received: from a\r\nReceived: from b\r\n\tby c\r\nSubject: x\r\n"
				  "\r\nReceived: in the body\r\n"),
			 2);
	assert_int_equal(count_of("RECEIVED:x\r\nreceived :y\r\nReceived\t:z\r\n"), 3);
	/* not a Received field */
	assert_int_equal(count_of("Received-SPF: pass\r\nX-Received: a\r\n Received: folded\r\n"
				  "Receivedx: a\r\nReceived\r\n"),
			 0);
	/* bare LF ends lines too; no header section at all */
	assert_int_equal(count_of("Received: a\nReceived: b\n\nReceived: c\n"), 2);
	assert_int_equal(count_of("\r\nReceived: a\r\n"), 0);
}

/* Any split of the input gives the same count. */
static void test_every_split(void **state)
{
	(void)state;
	const char *msg = "Subject: s\r\nReceived: a\r\nreceived  : b\r\nX: y\r\n\r\nReceived: c\r\n";
	size_t n = strlen(msg);
	for (size_t cut = 0; cut <= n; cut++) {
		struct smtp_hops h;
		smtp_hops_init(&h);
		smtp_hops_feed(&h, msg, cut);
		smtp_hops_feed(&h, msg + cut, n - cut);
		assert_int_equal(h.count, 2);
		assert_true(h.body);
	}
	struct smtp_hops h;
	smtp_hops_init(&h);
	for (size_t i = 0; i < n; i++)
		smtp_hops_feed(&h, msg + i, 1);
	assert_int_equal(h.count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_header_fields_only),
		cmocka_unit_test(test_every_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
