/* Unit tests for client/transcript.c: the -v lines, decoded challenges,
 * masked secrets, annotations from the codes table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/reply_parse.h"
#include "client/transcript.h"

static char *text(struct buf *b)
{
	buf_append(b, "", 1);
	return b->data;
}

static void test_login_challenges(void **state)
{
	static struct client_reply r;
	struct client_reply_parser p;
	struct buf b;
	size_t used;
	static const char in[] = "334 VXNlcm5hbWU6\r\n";

	(void)state;
	client_reply_parser_init(&p);
	assert_int_equal(client_reply_parse(&p, &r, in, sizeof(in) - 1, &used), CLIENT_REPLY_DONE);
	buf_init(&b, 4096);
	assert_int_equal(client_transcript_reply(&b, &r, NULL), BUF_OK);
	char *t = text(&b);

	assert_non_null(strstr(t, "S: 334 VXNlcm5hbWU6   \xe2\x86\x90 \"Username:\"\n"));
	assert_non_null(strstr(t, "3xx Positive intermediate"));
	buf_fini(&b);
}

static void test_masks(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	/* PLAIN: "\0alice\0secret" */
	client_transcript_auth(&b, CLIENT_MECH_PLAIN, 0, "AUTH PLAIN", "AGFsaWNlAHNlY3JldA==", 20);
	/* LOGIN: user name shown, password masked */
	client_transcript_auth(&b, CLIENT_MECH_LOGIN, 1, "", "YWxpY2U=", 8);
	client_transcript_auth(&b, CLIENT_MECH_LOGIN, 2, "", "c2VjcmV0", 8);
	/* SCRAM client-final: c=biws,r=abc,p=PROOF */
	client_transcript_auth(&b, CLIENT_MECH_SCRAM_SHA_256, 1, "", "Yz1iaXdzLHI9YWJjLHA9UFJPT0Y=", 28);
	/* SCRAM-PLUS client-first: the GS2 header "p=tls-exporter" is shown */
	client_transcript_auth(&b, CLIENT_MECH_SCRAM_SHA_256_PLUS, 1, "AUTH SCRAM-SHA-256-PLUS",
			       "cD10bHMtZXhwb3J0ZXIsLG49YWxpY2Uscj1ub25jZQ==", 44);
	char *t = text(&b);

	assert_string_equal(t,
		"C: AUTH PLAIN ********   \xe2\x86\x90 \"\\0alice\\0********\"\n"
		"C: YWxpY2U=   \xe2\x86\x90 \"alice\"\n"
		"C: ********   \xe2\x86\x90 \"********\"\n"
		"C: ********   \xe2\x86\x90 \"c=biws,r=abc,p=********\"\n"
		"C: AUTH SCRAM-SHA-256-PLUS cD10bHMtZXhwb3J0ZXIsLG49YWxpY2Uscj1ub25jZQ==   "
		"\xe2\x86\x90 \"p=tls-exporter,,n=alice,r=nonce\"\n");
	assert_null(strstr(t, "secret"));
	assert_null(strstr(t, "c2VjcmV0"));
	buf_fini(&b);
}

static void test_quote_binary(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	client_transcript_quote(&b, "a\x01\xff\xc3\xa9\"\\", 7);
	assert_string_equal(text(&b), "a\\x01\\xff\xc3\xa9\\\"\\\\");
	buf_fini(&b);
}

static void test_annotation(void **state)
{
	static struct client_reply r;
	struct client_reply_parser p;
	struct buf b;
	size_t used;
	static const char in[] = "535 5.7.8 Error: authentication failed\r\n";

	(void)state;
	client_reply_parser_init(&p);
	client_reply_parse(&p, &r, in, sizeof(in) - 1, &used);
	buf_init(&b, 4096);
	client_transcript_reply(&b, &r, NULL);
	char *t = text(&b);

	assert_non_null(strstr(t, "S: 535 5.7.8 Error: authentication failed\n   \xe2\x86\xb3 5xx Permanent negative completion: "));
	assert_non_null(strstr(t, "[5.7.8 "));
	buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_challenges),
		cmocka_unit_test(test_masks),
		cmocka_unit_test(test_quote_binary),
		cmocka_unit_test(test_annotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
