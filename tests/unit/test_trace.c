/* smtp/trace: Return-Path and Received (RFC 5321 §4.4, RFC 3848). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "smtp/trace.h"

static void received(void **st)
{
	struct buf b;
	buf_init(&b, 4096);
	struct smtp_trace t = {
		.return_path = "a@b.test", .helo = "client.test", .client_addr = "127.0.0.1",
		.by = "mx.test", .protocol = "ESMTP", .queue_id = "Q1", .for_addr = "u@mx.test",
		.when = 1795888595, .utc_offset_min = 0,
	};
	assert_int_equal(smtp_trace_format(&b, &t), BUF_OK);
	buf_append(&b, "", 1);
	assert_string_equal(b.data, "Return-Path: <a@b.test>\r\n"
				    "Received: from client.test ([127.0.0.1])\r\n"
				    "\tby mx.test (postern) with ESMTP id Q1\r\n"
				    "\tfor <u@mx.test>; Sat, 28 Nov 2026 17:56:35 +0000\r\n");
	buf_clear(&b);
	t.return_path = "";
	t.client_addr = "::1";
	t.for_addr = NULL;
	t.protocol = "UTF8SMTP";
	t.utc_offset_min = -(5 * 60 + 30);
	assert_int_equal(smtp_trace_format(&b, &t), BUF_OK);
	buf_append(&b, "", 1);
	assert_string_equal(b.data, "Return-Path: <>\r\n"
				    "Received: from client.test ([IPv6:::1])\r\n"
				    "\tby mx.test (postern) with UTF8SMTP id Q1; "
				    "Sat, 28 Nov 2026 12:26:35 -0530\r\n");
	/* before an LMTP server, which adds Return-Path itself: Received only */
	buf_clear(&b);
	t.return_path = NULL;
	assert_int_equal(smtp_trace_format(&b, &t), BUF_OK);
	buf_append(&b, "", 1);
	assert_string_equal(b.data, "Received: from client.test ([IPv6:::1])\r\n"
				    "\tby mx.test (postern) with UTF8SMTP id Q1; "
				    "Sat, 28 Nov 2026 12:26:35 -0530\r\n");
	buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(received),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
