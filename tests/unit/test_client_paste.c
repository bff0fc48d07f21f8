/* Unit tests for client/paste.c: replies found in what users paste. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client/paste.h"

#define MAXF 32

struct got {
	size_t n;
	struct client_explain_code c[MAXF];
	int stop_after; /* return 7 after this many, 0 never */
};

static int collect(void *arg, const struct client_explain_code *c)
{
	struct got *g = arg;

	if (g->n < MAXF)
		g->c[g->n] = *c;
	g->n++;
	return g->stop_after && (int)g->n == g->stop_after ? 7 : 0;
}

static struct got scan(const char *in)
{
	struct got g;
	size_t found = 0;

	memset(&g, 0, sizeof(g));
	assert_int_equal(client_paste_scan(in, strlen(in), collect, &g, &found), 0);
	assert_int_equal(found, g.n);
	return g;
}

static void assert_code(const struct client_explain_code *c, int basic, int cls, int s, int d,
	const char *text)
{
	assert_int_equal(c->basic, basic);
	assert_int_equal(c->cls, cls);
	assert_int_equal(c->subject, s);
	assert_int_equal(c->detail, d);
	if (text)
		assert_string_equal(c->text, text);
}

/* postern send -v: S: lines, annotations and a decoded 334 after its base64 */
static void test_send_v(void **state)
{
	(void)state;
	struct got g = scan(
		"S: 220 mx.example.org ESMTP\n"
		"   \xe2\x86\xb3 2xx positive completion: Service ready.\n"
		"C: EHLO me\n"
		"S: 250-mx.example.org\n"
		"S: 250-AUTH PLAIN LOGIN\n"
		"S: 250 8BITMIME\n"
		"C: AUTH LOGIN\n"
		"S: 334 VXNlcm5hbWU6   \xe2\x86\x90 \"Username:\"\n"
		"C: dXNlcg==\n"
		"S: 535 5.7.8 Authentication credentials invalid\r\n");

	assert_int_equal(g.n, 4);
	assert_code(&g.c[0], 220, 0, 0, 0, "mx.example.org ESMTP");
	assert_code(&g.c[1], 250, 0, 0, 0, "mx.example.org AUTH PLAIN LOGIN 8BITMIME");
	assert_code(&g.c[2], 334, 0, 0, 0, "VXNlcm5hbWU6");
	assert_code(&g.c[3], 535, 5, 7, 8, "Authentication credentials invalid");
}

/* swaks: "<-" replies, "<~" after TLS, "<**" for errors, "->" commands */
static void test_swaks(void **state)
{
	(void)state;
	struct got g = scan(
		"=== Trying smtp.gmail.com:587...\n"
		"<-  220 smtp.gmail.com ESMTP\n"
		" -> EHLO me\n"
		"<-  250-smtp.gmail.com at your service\n"
		"<-  250 STARTTLS\n"
		"<~  334 VXNlcm5hbWU6\n"
		"<~* 535-5.7.8 Username and Password not accepted. For more information, go to\n"
		"<~* 535 5.7.8  https://support.google.com/mail/?p=BadCredentials\n"
		" ~> QUIT\n");

	assert_int_equal(g.n, 4);
	assert_code(&g.c[1], 250, 0, 0, 0, NULL);
	assert_code(&g.c[2], 334, 0, 0, 0, "VXNlcm5hbWU6");
	assert_code(&g.c[3], 535, 5, 7, 8, NULL);
	assert_non_null(strstr(g.c[3].text, "Username and Password not accepted."));
	assert_non_null(strstr(g.c[3].text, "BadCredentials"));
}

/* Postfix: a whole reply on one log line, the command it answered cut off */
static void test_postfix_log(void **state)
{
	(void)state;
	struct got g = scan(
		"Dec  3 06:50:51 mx postfix/smtp[123]: 4F1: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, "
		"status=bounced (host gmail-smtp-in.l.google.com[1.2.3.4] said: 550-5.7.26 This mail is unauthenticated "
		"550 5.7.26 more text (in reply to end of DATA command))\n"
		"Dec  3 06:50:52 mx postfix/smtpd[9]: NOQUEUE: reject: RCPT from x[5.6.7.8]: 554 5.7.1 <b@example.net>: "
		"Relay access denied; from=<a@example.org> to=<b@example.net>\n"
		"host mx said: 452 4.2.2 full (in reply to RCPT TO command)\n");

	assert_int_equal(g.n, 3);
	assert_code(&g.c[0], 550, 5, 7, 26, NULL);
	assert_non_null(strstr(g.c[0].text, "unauthenticated"));
	assert_null(strstr(g.c[0].text, "in reply to"));
	assert_code(&g.c[1], 554, 5, 7, 1, NULL);
	assert_code(&g.c[2], 452, 4, 2, 2, "full");
}

/* A raw dialogue, bare codes on their own lines, and the registry's X form */
static void test_raw_and_codes(void **state)
{
	(void)state;
	struct got g = scan(
		"S: 502 5.5.2 Error: command not recognized\n"
		"C: QUIT\n"
		"5.7.8\n"
		"  X.7.26  \n"
		"550 2.1.5 impossible\n"
		"just some words\n"
		"2026 was a year\n");

	assert_int_equal(g.n, 4);
	assert_code(&g.c[0], 502, 5, 5, 2, "Error: command not recognized");
	assert_code(&g.c[1], 0, 5, 7, 8, NULL);
	assert_code(&g.c[2], 0, CLIENT_EXPLAIN_ANY_CLASS, 7, 26, NULL);
	/* the enhanced code of another class is kept, so explain can call it impossible */
	assert_code(&g.c[3], 550, 2, 1, 5, NULL);
}

/* A continuation cut short by another reply, or by a non-reply line */
static void test_interrupted(void **state)
{
	(void)state;
	struct got g = scan(
		"250-first\n"
		"550 5.1.1 other\n"
		"421-4.4.2 going\n"
		"C: NOOP\n");

	assert_int_equal(g.n, 3);
	assert_code(&g.c[0], 250, 0, 0, 0, "first");
	assert_code(&g.c[1], 550, 5, 1, 1, "other");
	assert_code(&g.c[2], 421, 4, 4, 2, "going");

	/* RFC 3463 has no class 3: "334 3.7.2" has no enhanced code (found by fuzz_paste) */
	g = scan("334 3.7.2\n");
	assert_int_equal(g.n, 1);
	assert_code(&g.c[0], 334, 0, 0, 0, "3.7.2");
}

/* Bounds: over-long lines are cut, text stays within its buffer, control
 * octets are masked, and the callback can stop the scan. */
static void test_bounds(void **state)
{
	static char big[3000];
	struct got g;
	size_t found = 0;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "550 5.1.1 ", 10);
	big[600] = '\x1b';
	g = scan(big);
	assert_int_equal(g.n, 1);
	assert_true(strlen(g.c[0].text) < CLIENT_EXPLAIN_TEXT_MAX);
	assert_null(strchr(g.c[0].text, '\x1b'));

	memset(&g, 0, sizeof(g));
	g.stop_after = 2;
	assert_int_equal(client_paste_scan("250 a\n251 b\n252 c\n", 18, collect, &g, &found), 7);
	assert_int_equal(found, 2);

	g = scan("");
	assert_int_equal(g.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_v),
		cmocka_unit_test(test_swaks),
		cmocka_unit_test(test_postfix_log),
		cmocka_unit_test(test_raw_and_codes),
		cmocka_unit_test(test_interrupted),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
